import fc from 'fast-check';
import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '@bundlegate/service-kit';
import { DEFAULT_POOL_OPTIONS } from './connection-pool';
import { Endpoint } from './endpoint';
import { grpcCodeName } from './grpc-wire';
import { GatewayMetrics } from './metrics';

const pool = { ...DEFAULT_POOL_OPTIONS, keepaliveMs: 0 };

interface Call {
  readonly model: number;
  /** -1: answered by the gateway without an upstream. */
  readonly endpoint: number;
  readonly code: number;
  readonly seconds: number;
}

/** The exposition's sample lines as a sorted list of `name{sorted labels} value`, comments dropped. */
function samples(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('gateway_grpc_request'))
    .map((line) => {
      const m = /^([^{ ]+)(?:\{(.*)\})? (.+)$/.exec(line);
      if (m === null) throw new Error(`not a sample line: ${line}`);
      const labels = (m[2] ?? '').split(/,(?=[a-z_]+=")/).filter(Boolean).sort().join(',');
      return `${m[1]}{${labels}} ${Number(m[3])}`;
    })
    .sort();
}

/** The same calls recorded through prom-client's own Counter and Histogram, as the gateway did before. */
function reference(calls: readonly Call[], endpoints: readonly Endpoint[]): Registry {
  const registry = new Registry();
  const requests = new Counter({ name: 'gateway_grpc_requests_total', help: 'h', labelNames: ['model_id', 'endpoint', 'code'], registers: [registry] });
  const duration = new Histogram({
    name: 'gateway_grpc_request_duration_seconds',
    help: 'h',
    labelNames: ['model_id', 'endpoint'],
    buckets: [...LATENCY_BUCKETS_SECONDS],
    registers: [registry],
  });
  for (const c of calls) {
    const endpoint = c.endpoint < 0 ? '' : (endpoints[c.endpoint] as Endpoint).address;
    requests.inc({ model_id: `m${c.model}`, endpoint, code: grpcCodeName(c.code) });
    if (c.endpoint >= 0) duration.observe({ model_id: `m${c.model}`, endpoint }, c.seconds);
  }
  return registry;
}

const endpointsFor = (n: number): Endpoint[] => Array.from({ length: n }, (_, i) => new Endpoint('127.0.0.1', 9000 + i, pool, undefined));

test('calls are exported exactly as prom-client counts and buckets them, for any calls', async () => {
  const bounds = [...LATENCY_BUCKETS_SECONDS];
  const seconds = fc.oneof(
    fc.constantFrom(0, ...bounds),
    fc.double({ min: 0, max: 2 * (bounds[bounds.length - 1] as number), noNaN: true }),
  );
  const call = fc.record({
    model: fc.integer({ min: 0, max: 2 }),
    endpoint: fc.integer({ min: -1, max: 2 }),
    code: fc.oneof(fc.integer({ min: 0, max: 16 }), fc.constantFrom(17, 99)),
    seconds,
  });
  await fc.assert(
    fc.asyncProperty(fc.array(call, { maxLength: 60 }), async (calls) => {
      const endpoints = endpointsFor(3);
      const registry = new Registry();
      const metrics = new GatewayMetrics(registry, () => []);
      for (const c of calls) metrics.call(`m${c.model}`, c.endpoint < 0 ? undefined : endpoints[c.endpoint], c.code, c.seconds);
      expect(samples(await registry.metrics())).toEqual(samples(await reference(calls, endpoints).metrics()));
    }),
    { numRuns: 200 },
  );
});

test('a re-created endpoint keeps counting in its series, both exposition formats name the counter right, and resetMetrics zeroes them', async () => {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'gateway' });
  const metrics = new GatewayMetrics(registry, () => []);
  const [first] = endpointsFor(1) as [Endpoint];
  const [again] = endpointsFor(1) as [Endpoint];
  metrics.call('m1', first, 0, 0.002);
  metrics.call('m1', again, 0, 0.2);
  metrics.call('m1', again, 14, 0.2);
  const text = await registry.metrics();
  expect(text).toContain('# TYPE gateway_grpc_requests_total counter');
  expect(text).toContain('# TYPE gateway_grpc_request_duration_seconds histogram');
  expect(text).toContain('gateway_grpc_requests_total{model_id="m1",endpoint="127.0.0.1:9000",code="OK",service="gateway"} 2');
  expect(text).toContain('gateway_grpc_requests_total{model_id="m1",endpoint="127.0.0.1:9000",code="UNAVAILABLE",service="gateway"} 1');
  expect(text).toContain('gateway_grpc_request_duration_seconds_count{model_id="m1",endpoint="127.0.0.1:9000",service="gateway"} 3');
  // the gateway serves the Prometheus text format; a registry switched to OpenMetrics renames counters
  (registry as Registry<RegistryContentType>).setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const open = await registry.metrics();
  expect(open).toContain('# TYPE gateway_grpc_requests counter');
  expect(open).toContain('gateway_grpc_requests_total{model_id="m1",endpoint="127.0.0.1:9000",code="OK",service="gateway"} 2');
  registry.resetMetrics();
  expect((await registry.metrics()).split('\n').filter((l) => l.startsWith('gateway_grpc_request'))).toEqual([]);
});
