import * as grpc from '@grpc/grpc-js';
import { health } from '@bundlegate/protos';
import { createLogger, createMetrics, HealthState } from '@bundlegate/service-kit';
import { createGateway, type Gateway } from './gateway';
import { HEALTH_CHECK_PATH } from './grpc-health';
import { md, rawClient, routeTo, startBackend, testConfig, unary, type TestBackend } from './test-backend';
import type { RouteSpec } from './route-config';

const logger = createLogger({ service: 'gateway-test', level: 'silent' });
const { SERVING, NOT_SERVING, SERVICE_UNKNOWN } = health.HealthCheckResponse_ServingStatus;

function check(client: health.HealthClient, service: string, metadata = new grpc.Metadata()): Promise<{ status?: number; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    client.check({ service }, metadata, (error, response) => resolve(error ? { error } : { status: response.status }));
  });
}

/** Collects a Watch stream's statuses; `ended` resolves with its final gRPC status. */
function watch(client: health.HealthClient, service: string): { seen: number[]; ended: Promise<grpc.StatusObject>; call: grpc.ClientReadableStream<health.HealthCheckResponse> } {
  const call = client.watch({ service });
  const seen: number[] = [];
  call.on('data', (r: health.HealthCheckResponse) => seen.push(r.status));
  call.on('error', () => undefined);
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
  return { seen, ended, call };
}

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe('grpc.health.v1 without model-id: answered by the gateway', () => {
  let backendHealth: HealthState;
  let backend: TestBackend;
  let gateway: Gateway;
  let client: health.HealthClient;
  let up: RouteSpec;
  let down: RouteSpec;
  let grpcPort: number;

  beforeAll(async () => {
    // the backend's own health knows a service the gateway does not: it tells whose answer came back
    backendHealth = new HealthState({ checks: ['model'] });
    backendHealth.setReady('model', true);
    backend = await startBackend('a', undefined, { state: backendHealth, options: { services: { 'backend-only': 'all' } } });
    const config = testConfig([]);
    // only the first round and explicit checkHealth() calls probe: no periodic round races a test
    const checks = { ...config.clusterDefaults.healthCheck, kind: 'grpc' as const, intervalMs: 600_000, timeoutMs: 500, unhealthyThreshold: 1 };
    gateway = createGateway(
      { ...config, listener: { ...config.listener, healthWatchIntervalMs: 20 } },
      { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) },
    );
    up = routeTo('m1', [backend.port], { healthCheck: checks });
    down = routeTo('m2', [await closedPort()], { healthCheck: checks });
    gateway.setRoutes([up]);
    grpcPort = (await gateway.listen()).grpc;
    await settled();
    client = new health.HealthClient(`127.0.0.1:${grpcPort}`, grpc.credentials.createInsecure());
  });

  /** Every endpoint has had its first check (the round a new cluster starts on its own). */
  const settled = (): Promise<void> => waitFor(() => gateway.table.clusters.every((c) => c.endpoints.every((e) => e.healthKnown)));

  afterAll(async () => {
    client.close();
    await gateway.close();
    await backend.close();
  });

  afterEach(async () => {
    backendHealth.setReady('model', true);
    gateway.setRoutes([up]);
    await gateway.checkHealth();
  });

  test('Check(""): SERVING with a healthy backend, NOT_SERVING when a route has none (as /readyz)', async () => {
    expect(await check(client, '')).toEqual({ status: SERVING });
    gateway.setRoutes([up, down]);
    await settled();
    expect(gateway.readiness().ready).toBe(false);
    expect(await check(client, '')).toEqual({ status: NOT_SERVING });
  });

  test('Check(model id) answers for that route: SERVING, NOT_SERVING', async () => {
    gateway.setRoutes([up, down]);
    await settled();
    expect(await check(client, 'm1')).toEqual({ status: SERVING });
    expect(await check(client, 'm2')).toEqual({ status: NOT_SERVING });
    backendHealth.setReady('model', false);
    await gateway.checkHealth();
    expect(await check(client, 'm1')).toEqual({ status: NOT_SERVING });
  });

  test('Check of an unknown service → NOT_FOUND marked as the gateway\'s', async () => {
    const r = await check(client, 'nope');
    expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(r.error?.details).toBe('unknown model "nope"; known models: m1');
    expect(r.error?.metadata.get('x-gateway-error')).toEqual(['BG_UNKNOWN_MODEL']);
    expect((await check(client, 'backend-only')).error?.code).toBe(grpc.status.NOT_FOUND);
  });

  test('with model-id the call reaches the backend\'s own health service', async () => {
    expect(await check(client, 'backend-only', md({ 'model-id': 'm1' }))).toEqual({ status: SERVING });
    backendHealth.setReady('model', false);
    expect(await check(client, 'backend-only', md({ 'model-id': 'm1' }))).toEqual({ status: NOT_SERVING });
    const unknown = await check(client, 'nope', md({ 'model-id': 'm1' }));
    expect(unknown.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.error?.metadata.get('x-gateway-error')).toEqual([]);
  });

  test('a request that is no HealthCheckRequest → INVALID_ARGUMENT', async () => {
    const raw = rawClient(grpcPort);
    try {
      // field 1 claims 10 bytes and carries 1
      const r = await unary(raw, HEALTH_CHECK_PATH, Buffer.from([0x0a, 0x0a, 0x41]), new grpc.Metadata());
      expect(r.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(r.error?.metadata.get('x-gateway-error')).toEqual(['BG_INVALID_ARGUMENT']);
    } finally {
      raw.close();
    }
  });

  test('Watch(model id) streams the status, then each change', async () => {
    const w = watch(client, 'm1');
    await waitFor(() => w.seen.length === 1);
    expect(w.seen).toEqual([SERVING]);
    backendHealth.setReady('model', false);
    await gateway.checkHealth();
    await waitFor(() => w.seen.length === 2);
    backendHealth.setReady('model', true);
    await gateway.checkHealth();
    await waitFor(() => w.seen.length === 3);
    expect(w.seen).toEqual([SERVING, NOT_SERVING, SERVING]);
    w.call.cancel();
    expect((await w.ended).code).toBe(grpc.status.CANCELLED);
  });

  test('Watch of an unknown service says SERVICE_UNKNOWN and follows it once a route appears', async () => {
    const w = watch(client, 'm2');
    await waitFor(() => w.seen.length === 1);
    gateway.setRoutes([up, down]);
    await settled();
    await waitFor(() => w.seen.length === 2);
    expect(w.seen).toEqual([SERVICE_UNKNOWN, NOT_SERVING]);
    w.call.cancel();
    await w.ended;
  });
});

describe('grpc.health.v1 while the gateway drains', () => {
  test('an open Watch("") gets NOT_SERVING and ends with OK as soon as close() starts', async () => {
    const backend = await startBackend('a');
    const config = testConfig([]);
    // a long interval and drain timeout: only close() itself can end the Watch in time
    const gateway = createGateway(
      { ...config, drainTimeoutMs: 10_000, listener: { ...config.listener, healthWatchIntervalMs: 60_000 } },
      { logger, metrics: createMetrics({ service: 'gateway', defaultMetrics: false }) },
    );
    gateway.setRoutes([routeTo('m1', [backend.port])]);
    const ports = await gateway.listen();
    const client = new health.HealthClient(`127.0.0.1:${ports.grpc}`, grpc.credentials.createInsecure());
    try {
      const w = watch(client, '');
      await waitFor(() => w.seen.length === 1);
      const started = Date.now();
      const closing = gateway.close();
      const status = await w.ended;
      expect(status.code).toBe(grpc.status.OK);
      expect(w.seen).toEqual([SERVING, NOT_SERVING]);
      await closing;
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      client.close();
      await backend.close();
    }
  });
});
