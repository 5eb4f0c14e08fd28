import { DEFAULT_POOL_OPTIONS } from './connection-pool';
import { Endpoint } from './endpoint';
import { LeastRequestBalancer } from './load-balancer-least-request';
import { RoundRobinBalancer } from './load-balancer-round-robin';
import { OutlierDetector } from './outlier-detector';

const pool = { ...DEFAULT_POOL_OPTIONS, keepaliveMs: 0 };
const endpoints = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => new Endpoint('127.0.0.1', 9000 + i, pool, undefined));
const ports = (picked: (Endpoint | undefined)[]): (number | undefined)[] => picked.map((e) => e?.port);

test('round robin cycles, skips unhealthy and ejected endpoints, and endpoints a call already tried', () => {
  const es = endpoints(3);
  const rr = new RoundRobinBalancer();
  expect(ports([rr.pick(es, 0, undefined), rr.pick(es, 0, undefined), rr.pick(es, 0, undefined), rr.pick(es, 0, undefined)])).toEqual([9000, 9001, 9002, 9000]);
  (es[1] as Endpoint).healthy = false;
  (es[2] as Endpoint).ejectedUntil = 1000;
  expect(ports([rr.pick(es, 500, undefined), rr.pick(es, 500, undefined)])).toEqual([9000, 9000]);
  expect(ports([rr.pick(es, 1500, undefined), rr.pick(es, 1500, undefined)])).toEqual([9002, 9000]);
  expect(rr.pick(es, 1500, [es[0] as Endpoint, es[2] as Endpoint])).toBeUndefined();
});

test('least request picks the fewest calls in flight and spreads ties', () => {
  const es = endpoints(3);
  const lr = new LeastRequestBalancer();
  (es[0] as Endpoint).outstanding = 5;
  (es[1] as Endpoint).outstanding = 1;
  (es[2] as Endpoint).outstanding = 3;
  expect(lr.pick(es, 0, undefined)?.port).toBe(9001);
  expect(lr.pick(es, 0, [es[1] as Endpoint])?.port).toBe(9002);
  for (const e of es) e.outstanding = 0;
  expect(new Set(ports([lr.pick(es, 0, undefined), lr.pick(es, 0, undefined), lr.pick(es, 0, undefined)]))).toEqual(new Set([9000, 9001, 9002]));
});

test('outlier detection ejects after consecutive failures, longer each time, never more than the allowed share', () => {
  const es = endpoints(4);
  const ejected: [number, number][] = [];
  const od = new OutlierDetector({ consecutiveFailures: 3, baseEjectionMs: 100, maxEjectionMs: 250, maxEjectionPercent: 50 }, es, (e, ms) => ejected.push([e.port, ms]));
  const [a, b, c] = es as [Endpoint, Endpoint, Endpoint];
  od.failure(a, 0);
  od.failure(a, 0);
  od.success(a);
  od.failure(a, 0);
  od.failure(a, 0);
  expect(ejected).toEqual([]);
  od.failure(a, 0);
  expect(ejected).toEqual([[9000, 100]]);
  expect(a.available(50)).toBe(false);
  expect(a.available(100)).toBe(true);
  for (let i = 0; i < 3; i++) od.failure(b, 10);
  for (let i = 0; i < 3; i++) od.failure(c, 10);
  // 50% of 4: a third endpoint stays in
  expect(ejected.map(([port]) => port)).toEqual([9000, 9001]);
  for (let i = 0; i < 3; i++) od.failure(a, 200);
  expect(ejected.at(-1)).toEqual([9000, 200]);
  for (let i = 0; i < 3; i++) od.failure(a, 1000);
  expect(ejected.at(-1)).toEqual([9000, 250]);
});
