import fc from 'fast-check';
import type * as grpc from '@grpc/grpc-js';
import { createLogger, createMetrics } from '@bundlegate/service-kit';
import { addressChanges, type LookupAll } from './cluster';
import { createGateway, type BoundPorts, type Gateway } from './gateway';
import { md, rawClient, startBackend, TEST_METHODS, testConfig, unary, type TestBackend } from './test-backend';

const logger = createLogger({ service: 'gateway-test', level: 'silent' });

describe('addressChanges', () => {
  it('adds what is new, drops what is gone, keeps the rest', () => {
    const ip = fc.constantFrom<string>('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', 'fd00::1', 'fd00::2');
    fc.assert(
      fc.property(fc.uniqueArray(ip), fc.array(ip), (current, resolved) => {
        const { add, drop } = addressChanges(current, resolved);
        const after = new Set([...current.filter((a) => !drop.includes(a)), ...add]);
        expect(after).toEqual(new Set(resolved));
        expect(add.some((a) => current.includes(a))).toBe(false);
        expect(drop.every((a) => current.includes(a))).toBe(true);
        expect(new Set(add).size).toBe(add.length);
      }),
    );
  });
});

// One backend on 127.0.0.1 reached under a name only the injected resolver knows; as two addresses, the second
// the IPv4-mapped IPv6 form of the same loopback address, so that every connection still goes to 127.0.0.1.
describe('DNS discovery of a cluster’s servers', () => {
  const NAME = 'serving.bundlegate.test';
  let backend: TestBackend;
  let gateway: Gateway;
  let ports: BoundPorts;
  let client: grpc.Client;
  let answer: () => string[] = () => ['127.0.0.1'];
  const asked: string[] = [];
  const lookup: LookupAll = async (host) => {
    asked.push(host);
    return answer();
  };

  const routes = async (): Promise<{ address: string; host?: string }[]> => {
    const res = await fetch(`http://127.0.0.1:${ports.rest}/routes`);
    const body = (await res.json()) as { routes: { endpoints: { address: string; host?: string }[] }[] };
    return body.routes[0]?.endpoints ?? [];
  };
  const waitFor = async (check: () => Promise<boolean>): Promise<void> => {
    const until = Date.now() + 5000;
    while (!(await check())) {
      if (Date.now() > until) throw new Error('condition not met in 5 s');
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const call = async (): Promise<string | undefined> => {
    const r = await unary(client, TEST_METHODS.Unary.path, Buffer.from('x'), md({ 'model-id': 'm1' }));
    expect(r.error).toBeNull();
    return r.headers?.get('x-backend')[0] as string | undefined;
  };

  beforeAll(async () => {
    backend = await startBackend('a');
    gateway = createGateway(testConfig([`m1=${NAME}:${backend.port}`], { dnsRefreshMs: 30 }), {
      logger,
      metrics: createMetrics({ service: 'gateway', defaultMetrics: false }),
      lookup,
    });
    ports = await gateway.listen();
    client = rawClient(ports.grpc);
  });

  afterAll(async () => {
    client.close();
    await gateway.close();
    await backend.close();
  });

  test('a name is dialled at the address it resolves to, shown with the name', async () => {
    await waitFor(async () => (await routes()).some((e) => e.address === `127.0.0.1:${backend.port}`));
    expect(asked).toContain(NAME);
    expect(await call()).toBe('a');
    expect(await routes()).toEqual([expect.objectContaining({ address: `127.0.0.1:${backend.port}`, host: NAME })]);
  });

  test('every address of the name becomes an endpoint, and calls spread over them', async () => {
    answer = () => ['127.0.0.1', '::ffff:127.0.0.1'];
    await waitFor(async () => (await routes()).length === 2);
    for (let i = 0; i < 6; i++) expect(await call()).toBe('a');
    const endpoints = await routes();
    expect(endpoints.map((e) => e.address).sort()).toEqual([`127.0.0.1:${backend.port}`, `[::ffff:127.0.0.1]:${backend.port}`]);
    // round robin sent calls to both
    const metrics = await (await fetch(`http://127.0.0.1:${ports.rest}/metrics`)).text();
    for (const e of endpoints) {
      const line = metrics.split('\n').find((l) => l.startsWith('gateway_grpc_requests_total{') && l.includes(`endpoint="${e.address}"`));
      expect(Number(line?.split(' ').at(-1))).toBeGreaterThanOrEqual(2);
    }
  });

  test('a failed or empty answer keeps the endpoints; an address that leaves the answer leaves the cluster', async () => {
    answer = () => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${NAME}`), { code: 'ENOTFOUND' });
    };
    const before = asked.length;
    await waitFor(async () => asked.length > before + 2);
    expect((await routes()).length).toBe(2);
    answer = () => [];
    const later = asked.length;
    await waitFor(async () => asked.length > later + 2);
    expect((await routes()).length).toBe(2);
    expect(await call()).toBe('a');

    answer = () => ['::ffff:127.0.0.1'];
    await waitFor(async () => (await routes()).length === 1);
    expect((await routes())[0]?.address).toBe(`[::ffff:127.0.0.1]:${backend.port}`);
    expect(await call()).toBe('a');
  });
});
