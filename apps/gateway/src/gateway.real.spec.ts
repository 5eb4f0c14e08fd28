import * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { kserve } from '@bundlegate/protos';
import { createLogger, createMetrics } from '@bundlegate/service-kit';
import { createGateway, type BoundPorts, type Gateway } from './gateway';
import { md, rawClient, routeTo, startBackend, TEST_METHODS, testConfig, unary, type TestBackend } from './test-backend';

const logger = createLogger({ service: 'gateway-test', level: 'silent' });

describe('gateway forwarding (real grpc-js upstreams)', () => {
  let a: TestBackend;
  let b: TestBackend;
  let gateway: Gateway;
  let ports: BoundPorts;
  let client: grpc.Client;

  beforeAll(async () => {
    [a, b] = await Promise.all([startBackend('a'), startBackend('b')]);
    gateway = createGateway(testConfig([`m1=127.0.0.1:${a.port}`, `m2=127.0.0.1:${b.port}`], {
      listener: { ...testConfig([]).listener, sniffModelName: true },
    }), { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) });
    ports = await gateway.listen();
    client = rawClient(ports.grpc);
  });

  afterAll(async () => {
    client.close();
    await gateway.close();
    await Promise.all([a.close(), b.close()]);
  });

  test('unary: body, request metadata (-bin too), response headers and trailers pass unchanged', async () => {
    const body = Buffer.from('hello gateway');
    const r = await unary(client, TEST_METHODS.Unary.path, body, md({ 'model-id': 'm1', 'x-custom': 'v1', 'x-echo-bin': Buffer.from([9, 0, 255]) }));
    expect(r.error).toBeNull();
    expect(r.response).toEqual(body);
    expect(r.headers?.get('x-backend')).toEqual(['a']);
    expect(r.trailers?.get('x-trailer')).toEqual(['done-by-a']);
    expect(r.trailers?.get('x-trailer-bin')).toEqual([Buffer.from([0, 1, 2, 255])]);
    expect(r.trailers?.get('x-echoed-bin')).toEqual([Buffer.from([9, 0, 255])]);
    const seen = a.seen.at(-1);
    expect(seen?.metadata['x-custom']).toBe('v1');
    expect(seen?.metadata['model-id']).toBe('m1');
    expect(typeof seen?.metadata['x-request-id']).toBe('string');
  });

  test('routes by model-id to the right cluster', async () => {
    const r = await unary(client, TEST_METHODS.Unary.path, Buffer.from('x'), md({ 'model-id': 'm2' }));
    expect(r.headers?.get('x-backend')).toEqual(['b']);
  });

  test('a 600 KB message arrives byte for byte', async () => {
    const body = Buffer.alloc(224 * 224 * 3 * 4);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;
    const r = await unary(client, TEST_METHODS.Unary.path, body, md({ 'model-id': 'm1' }));
    expect(r.error).toBeNull();
    expect(createHash('sha256').update(r.response as Buffer).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
  });

  test('server streaming keeps order and trailers', async () => {
    const call = client.makeServerStreamRequest(TEST_METHODS.ServerStream.path, (x: Buffer) => x, (x: Buffer) => x, Buffer.from([5]), md({ 'model-id': 'm1' }));
    const got: number[] = [];
    call.on('data', (m: Buffer) => got.push(m.readUInt8(0)));
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    expect(status.code).toBe(grpc.status.OK);
    expect(got).toEqual([0, 1, 2, 3, 4]);
    expect(status.metadata.get('x-trailer')).toEqual(['done-by-a']);
  });

  test('client streaming', async () => {
    const response = await new Promise<Buffer>((resolve, reject) => {
      const call = client.makeClientStreamRequest(TEST_METHODS.ClientStream.path, (x: Buffer) => x, (x: Buffer) => x, md({ 'model-id': 'm2' }), (err, res) =>
        err ? reject(err) : resolve(res as Buffer),
      );
      for (const part of ['ab', 'cd', 'ef']) call.write(Buffer.from(part));
      call.end();
    });
    expect(response.toString()).toBe('abcdef');
  });

  test('bidi streaming (ModelStreamInfer path) answers each message as it comes', async () => {
    const call = client.makeBidiStreamRequest(TEST_METHODS.Bidi.path, (x: Buffer) => x, (x: Buffer) => x, md({ 'model-id': 'm1' }));
    const replies: string[] = [];
    const next = (): Promise<string> => new Promise((resolve) => call.once('data', (m: Buffer) => resolve(m.toString())));
    call.write(Buffer.from('one'));
    replies.push(await next());
    call.write(Buffer.from('two'));
    replies.push(await next());
    call.end();
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    expect(replies).toEqual(['a:one', 'a:two']);
    expect(status.code).toBe(grpc.status.OK);
  });

  test("a backend's error status, message, details and trailers pass unchanged, without x-gateway-error", async () => {
    const r = await unary(client, TEST_METHODS.Fail.path, Buffer.from('x'), md({ 'model-id': 'm1' }));
    expect(r.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(r.error?.details).toBe('model ünloaded: 100% sure');
    expect(r.error?.metadata.get('grpc-status-details-bin')).toEqual([Buffer.from('rich-status-details')]);
    expect(r.error?.metadata.get('x-trailer')).toEqual(['done-by-a']);
    expect(r.error?.metadata.get('x-gateway-error')).toEqual([]);
  });

  test('missing model-id → INVALID_ARGUMENT marked BG_MISSING_MODEL_ID', async () => {
    const r = await unary(client, TEST_METHODS.Unary.path, Buffer.from('x'), new grpc.Metadata());
    expect(r.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(r.error?.metadata.get('x-gateway-error')).toEqual(['BG_MISSING_MODEL_ID']);
  });

  test('unknown model id → NOT_FOUND naming the known ids', async () => {
    const r = await unary(client, TEST_METHODS.Unary.path, Buffer.from('x'), md({ 'model-id': 'nope' }));
    expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(r.error?.details).toBe('unknown model "nope"; known models: m1, m2');
    expect(r.error?.metadata.get('x-gateway-error')).toEqual(['BG_UNKNOWN_MODEL']);
  });

  test('without model-id, ModelInfer is routed by the model name in its first bytes', async () => {
    const body = Buffer.from(kserve.ModelInferRequest.encode({ modelName: 'm2', modelVersion: '', id: 'r1', parameters: {}, inputs: [], outputs: [], rawInputContents: [Buffer.alloc(50_000, 7)] }).finish());
    const r = await unary(client, TEST_METHODS.ModelInfer.path, body, new grpc.Metadata());
    expect(r.error).toBeNull();
    expect(r.response?.toString()).toBe('b');
  });

  test('the deadline propagates upstream and the gateway answers DEADLINE_EXCEEDED', async () => {
    const before = b.seen.length;
    const started = Date.now();
    const r = await unary(client, TEST_METHODS.Slow.path, Buffer.from('x'), md({ 'model-id': 'm2' }), { deadline: Date.now() + 400 });
    expect(r.error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    const seen = b.seen[before];
    const deadline = seen?.deadline instanceof Date ? seen.deadline.getTime() : Number(seen?.deadline);
    // the backend saw a deadline close to the client's, not "none"
    expect(deadline).toBeGreaterThan(started + 200);
    expect(deadline).toBeLessThan(started + 1000);
    await waitFor(() => seen?.cancelled === true);
  });

  test('a client cancel cancels the upstream call', async () => {
    const before = a.seen.length;
    const call = client.makeServerStreamRequest(TEST_METHODS.ServerStream.path, (x: Buffer) => x, (x: Buffer) => x, Buffer.from([200, 50]), md({ 'model-id': 'm1' }));
    call.on('error', () => undefined);
    await new Promise((resolve) => call.once('data', resolve));
    call.cancel();
    await waitFor(() => a.seen[before]?.cancelled === true);
    expect(a.seen[before]?.cancelled).toBe(true);
  });

  test('/metrics counts calls by model id, endpoint and grpc code', async () => {
    const text = await gateway.metrics.registry.metrics();
    expect(text).toMatch(new RegExp(`gateway_grpc_requests_total\\{model_id="m1",endpoint="127.0.0.1:${a.port}",code="OK",service="gateway"\\} \\d+`));
    expect(text).toMatch(/gateway_errors_total\{model_id="nope",code="BG_UNKNOWN_MODEL",service="gateway"\} 1/);
  });
});

describe('gateway under sustained traffic', () => {
  test('1500 calls on one upstream connection: each reaches the backend exactly once, no retries', async () => {
    const backend = await startBackend('steady');
    // room for all 20 calls on one connection (the default opens another every 4)
    const config = testConfig([`m1=127.0.0.1:${backend.port}`]);
    const gateway = createGateway({ ...config, pool: { ...config.pool, streamsPerConnection: 32 } }, { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) });
    const ports = await gateway.listen();
    const client = rawClient(ports.grpc);
    try {
      let failures = 0;
      // 20 at a time stay on one connection: a protocol slip per call would reach nghttp2's 1000-bad-frames GOAWAY
      for (let batch = 0; batch < 75; batch++) {
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => unary(client, TEST_METHODS.Unary.path, Buffer.from([i]), md({ 'model-id': 'm1' }))));
        failures += results.filter((r) => r.error !== null).length;
      }
      expect(failures).toBe(0);
      expect(backend.seen.length).toBe(1500);
      const text = await gateway.metrics.registry.metrics();
      expect(text).not.toMatch(/gateway_retries_total\{/);
      expect(gateway.table.routes[0]?.cluster.endpoints[0]?.pool.opened).toBe(1);
    } finally {
      client.close();
      await gateway.close();
      await backend.close();
    }
  });
});

describe('gateway bodies under load', () => {
  test('concurrent large calls, some replayed after a draining endpoint, echo byte for byte', async () => {
    const good = await startBackend('good');
    const draining = await startBackend('draining');
    draining.unavailable = true;
    // m2's first pick may be the draining endpoint: its calls are replayed from the held request chunks
    const gateway = createGateway(testConfig([`m1=127.0.0.1:${good.port}`, `m2=127.0.0.1:${draining.port},127.0.0.1:${good.port}`]), {
      logger,
      metrics: createMetrics({ service: 'gateway', defaultMetrics: false }),
    });
    const ports = await gateway.listen();
    const clients = [rawClient(ports.grpc), rawClient(ports.grpc, undefined, { 'grpc.use_local_subchannel_pool': 1 })];
    const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
    try {
      for (let wave = 0; wave < 3; wave++) {
        const bodies = Array.from({ length: 16 }, (_, i) => randomBytes(100_000 + ((wave * 16 + i) * 97_531) % 1_400_000));
        const results = await Promise.all(
          bodies.map((body, i) => unary(clients[i % 2] as grpc.Client, TEST_METHODS.Unary.path, body, md({ 'model-id': i % 3 === 0 ? 'm2' : 'm1' }))),
        );
        results.forEach((r, i) => {
          expect(r.error).toBeNull();
          expect(digest(r.response as Buffer)).toBe(digest(bodies[i] as Buffer));
        });
      }
      const text = await gateway.metrics.registry.metrics();
      expect(text).toMatch(/gateway_retries_total\{model_id="m2",service="gateway"\} [1-9]/);
    } finally {
      for (const c of clients) c.close();
      await gateway.close();
      await Promise.all([good.close(), draining.close()]);
    }
  });
});

describe('gateway failures and retries', () => {
  test('an upstream killed mid-stream ends the call UNAVAILABLE with x-gateway-error after the messages it sent', async () => {
    const victim = await startBackend('victim');
    const gateway = createGateway(testConfig([`m1=127.0.0.1:${victim.port}`]), { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) });
    const ports = await gateway.listen();
    const client = rawClient(ports.grpc);
    try {
      const call = client.makeServerStreamRequest(TEST_METHODS.ServerStream.path, (x: Buffer) => x, (x: Buffer) => x, Buffer.from([100, 20]), md({ 'model-id': 'm1' }));
      const got: number[] = [];
      call.on('data', (m: Buffer) => {
        got.push(m.readUInt8(0));
        if (got.length === 2) victim.server.forceShutdown();
      });
      call.on('error', () => undefined);
      const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
      expect(got.slice(0, 2)).toEqual([0, 1]);
      expect(got.length).toBeLessThan(100);
      expect(status.code).toBe(grpc.status.UNAVAILABLE);
      expect(status.metadata.get('x-gateway-error')).toEqual(['BG_UPSTREAM_UNAVAILABLE']);
    } finally {
      client.close();
      await gateway.close();
    }
  });

  test('calls are retried on the second endpoint: refused connection, and UNAVAILABLE from a draining server', async () => {
    const good = await startBackend('good');
    const draining = await startBackend('draining');
    draining.unavailable = true;
    const closedPort = await freePort();
    const gateway = createGateway(
      testConfig([`m1=127.0.0.1:${closedPort},127.0.0.1:${good.port}`, `m2=127.0.0.1:${draining.port},127.0.0.1:${good.port}`]),
      { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) },
    );
    const ports = await gateway.listen();
    const client = rawClient(ports.grpc);
    try {
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => unary(client, TEST_METHODS.Unary.path, Buffer.from([i]), md({ 'model-id': i % 2 === 0 ? 'm1' : 'm2' }))),
      );
      for (const r of results) {
        expect(r.error).toBeNull();
        expect(r.headers?.get('x-backend')).toEqual(['good']);
      }
      expect(draining.seen.length).toBeGreaterThan(0);
      const text = await gateway.metrics.registry.metrics();
      expect(text).toMatch(/gateway_retries_total\{model_id="m1",service="gateway"\} [1-9]/);
      expect(text).toMatch(/gateway_retries_total\{model_id="m2",service="gateway"\} [1-9]/);
    } finally {
      client.close();
      await gateway.close();
      await Promise.all([good.close(), draining.close()]);
    }
  });

  test('no healthy endpoint → UNAVAILABLE marked BG_NO_HEALTHY_ENDPOINT, and /readyz says which model', async () => {
    const closedPort = await freePort();
    const config = testConfig([`m1=127.0.0.1:${closedPort}`]);
    const gateway = createGateway(
      { ...config, clusterDefaults: { ...config.clusterDefaults, healthCheck: { ...config.clusterDefaults.healthCheck, kind: 'grpc', timeoutMs: 500 } } },
      { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) },
    );
    const ports = await gateway.listen();
    const client = rawClient(ports.grpc);
    try {
      await gateway.checkHealth();
      const r = await unary(client, TEST_METHODS.Unary.path, Buffer.from('x'), md({ 'model-id': 'm1' }));
      expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(r.error?.metadata.get('x-gateway-error')).toEqual(['BG_NO_HEALTHY_ENDPOINT']);
      const ready = await fetch(`http://127.0.0.1:${ports.rest}/readyz`);
      expect(ready.status).toBe(503);
      expect(JSON.stringify(await ready.json())).toContain('model m1: no healthy endpoint');
    } finally {
      client.close();
      await gateway.close();
    }
  });

  test('a message over the route limit → RESOURCE_EXHAUSTED marked BG_BODY_TOO_LARGE', async () => {
    const backend = await startBackend('small');
    const gateway = createGateway(testConfig([]), { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) });
    gateway.setRoutes([routeTo('m1', [backend.port], { maxMessageSize: 1024 })]);
    const ports = await gateway.listen();
    const client = rawClient(ports.grpc);
    try {
      const ok = await unary(client, TEST_METHODS.Unary.path, Buffer.alloc(1000), md({ 'model-id': 'm1' }));
      expect(ok.error).toBeNull();
      const big = await unary(client, TEST_METHODS.Unary.path, Buffer.alloc(2048), md({ 'model-id': 'm1' }));
      expect(big.error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(big.error?.metadata.get('x-gateway-error')).toEqual(['BG_BODY_TOO_LARGE']);
    } finally {
      client.close();
      await gateway.close();
      await backend.close();
    }
  });
});

describe('route reload under traffic', () => {
  test('in-flight calls finish on the old cluster, new calls use the new routes, nothing fails', async () => {
    const [oldB, newB] = await Promise.all([startBackend('old'), startBackend('new')]);
    const gateway = createGateway(testConfig([]), { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) });
    gateway.setRoutes([routeTo('m1', [oldB.port])]);
    const ports = await gateway.listen();
    const client = rawClient(ports.grpc);
    try {
      // a long stream in flight on the old cluster across the reload
      const stream = client.makeServerStreamRequest(TEST_METHODS.ServerStream.path, (x: Buffer) => x, (x: Buffer) => x, Buffer.from([20, 15]), md({ 'model-id': 'm1' }));
      const streamed: number[] = [];
      stream.on('data', (m: Buffer) => streamed.push(m.readUInt8(0)));
      const streamStatus = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
      let stop = false;
      const outcomes: string[] = [];
      const loop = (async () => {
        while (!stop) {
          const r = await unary(client, TEST_METHODS.Unary.path, Buffer.from('x'), md({ 'model-id': 'm1' }));
          outcomes.push(r.error ? `error ${r.error.code}` : String(r.headers?.get('x-backend')[0]));
        }
      })();
      await waitFor(() => outcomes.length >= 5 && streamed.length >= 2);
      gateway.setRoutes([routeTo('m1', [newB.port]), routeTo('m2', [oldB.port], { lbPolicy: 'least_request' })]);
      const reloadedAt = outcomes.length;
      await waitFor(() => outcomes.length >= reloadedAt + 5);
      stop = true;
      await loop;
      const status = await streamStatus;
      expect(status.code).toBe(grpc.status.OK);
      expect(streamed).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(outcomes.filter((o) => o.startsWith('error'))).toEqual([]);
      expect(outcomes.slice(reloadedAt + 1)).toEqual(outcomes.slice(reloadedAt + 1).map(() => 'new'));
      expect(gateway.table.knownIds).toEqual(['m1', 'm2']);
    } finally {
      client.close();
      await gateway.close();
      await Promise.all([oldB.close(), newB.close()]);
    }
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
