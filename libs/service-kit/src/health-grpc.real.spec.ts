import { credentials, Server, status, type ServiceError } from '@grpc/grpc-js';
import { health as healthPb } from '@bundlegate/protos';
import { addGrpcHealth } from './health-grpc';
import { HealthState } from './health';
import { bindGrpc, closeGrpcServer } from './net';

const { SERVING, NOT_SERVING, SERVICE_UNKNOWN } = healthPb.HealthCheckResponse_ServingStatus;

describe('grpc.health.v1.Health with a real grpc-js client', () => {
  let server: Server;
  let client: healthPb.HealthClient;
  let health: HealthState;

  beforeEach(async () => {
    health = new HealthState({ checks: ['models', 'gateway'] });
    server = new Server();
    addGrpcHealth(server, health, {
      services: { 'inference.GRPCInferenceService': ['models'], 'bundlegate.v1.ModelProxy': 'all' },
    });
    const port = await bindGrpc(server, '127.0.0.1', 0);
    client = new healthPb.HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterEach(async () => {
    client.close();
    await closeGrpcServer(server, 1000);
  });

  const check = (service: string) =>
    new Promise<{ status?: number; code?: number; details?: string }>((resolve) => {
      client.check({ service }, (err: ServiceError | null, res) =>
        resolve(err ? { code: err.code, details: err.details } : { status: res.status }),
      );
    });

  it('checks the overall server and each named service against its own checks', async () => {
    expect(await check('')).toEqual({ status: NOT_SERVING });
    health.setReady('models', true);
    expect(await check('inference.GRPCInferenceService')).toEqual({ status: SERVING });
    expect(await check('bundlegate.v1.ModelProxy')).toEqual({ status: NOT_SERVING });
    expect(await check('')).toEqual({ status: NOT_SERVING });
    health.setReady('gateway', true);
    expect(await check('')).toEqual({ status: SERVING });
    expect(await check('bundlegate.v1.ModelProxy')).toEqual({ status: SERVING });
  });

  it('answers NOT_FOUND for an unknown service', async () => {
    expect(await check('no.such.Service')).toEqual({ code: status.NOT_FOUND, details: 'unknown service "no.such.Service"' });
  });

  it('streams status transitions on Watch and ends the stream at shutdown', async () => {
    const seen: number[] = [];
    const stream = client.watch({ service: 'inference.GRPCInferenceService' });
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: healthPb.HealthCheckResponse) => seen.push(r.status));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    const waitFor = async (n: number) => {
      for (let i = 0; i < 200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 5));
    };
    await waitFor(1);
    health.setReady('gateway', true); // not a dependency of this service: no message
    health.setReady('models', true);
    await waitFor(2);
    health.setReady('models', false, 'reloading');
    await waitFor(3);
    health.setReady('models', true);
    await waitFor(4);
    health.markShuttingDown();
    await ended;
    expect(seen).toEqual([NOT_SERVING, SERVING, NOT_SERVING, SERVING, NOT_SERVING]);
  });

  it('sends SERVICE_UNKNOWN on Watch for an unknown service and keeps the stream open', async () => {
    const stream = client.watch({ service: 'no.such.Service' });
    const first = await new Promise<number>((resolve, reject) => {
      stream.once('data', (r: healthPb.HealthCheckResponse) => resolve(r.status));
      stream.once('error', reject);
    });
    expect(first).toBe(SERVICE_UNKNOWN);
    stream.on('error', () => undefined); // the cancel below surfaces as CANCELLED
    stream.cancel();
  });
});
