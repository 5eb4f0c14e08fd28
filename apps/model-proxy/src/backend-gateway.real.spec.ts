import { Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import { join } from 'node:path';
import { loadSignatureFile } from '@bundlegate/bundle';
import { health, kserve } from '@bundlegate/protos';
import { FIXTURES } from '../test/proxy-harness';
import { GatewayBackend } from './backend-gateway';
import { ModelCatalog } from './model-catalog';

// How the gateway's own readiness is read from routers that do and do not serve grpc.health.v1 themselves.

async function serve(setup: (server: Server) => void): Promise<{ address: string; close(): void }> {
  const server = new Server();
  setup(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { address: `127.0.0.1:${port}`, close: () => server.forceShutdown() };
}

const deadline = (): number => Date.now() + 2000;

describe('GatewayBackend.ready', () => {
  it('follows grpc.health.v1 when the gateway serves it', async () => {
    let serving = health.HealthCheckResponse_ServingStatus.SERVING;
    const gw = await serve((s) =>
      s.addService(health.HealthService, { check: (_call, cb) => cb(null, { status: serving }), watch: (call) => call.end() } as health.HealthServer),
    );
    const backend = new GatewayBackend({ target: gw.address, maxMessageBytes: 1 << 20 });
    try {
      expect(await backend.ready(deadline())).toBe(true);
      serving = health.HealthCheckResponse_ServingStatus.NOT_SERVING;
      expect(await backend.ready(deadline())).toBe(false);
    } finally {
      await backend.close();
      gw.close();
    }
  });

  it('counts a router that only forwards by model-id as up when it answers with its own error', async () => {
    const router = await serve((s) =>
      s.addService(health.HealthService, {
        check: (_call, cb) => {
          const trailers = new Metadata();
          trailers.set('x-gateway-error', 'BG_MISSING_MODEL_ID');
          cb({ code: status.INVALID_ARGUMENT, details: 'no model id', metadata: trailers });
        },
        watch: (call) => call.end(),
      } as health.HealthServer),
    );
    const bare = await serve(() => undefined);
    const viaRouter = new GatewayBackend({ target: router.address, maxMessageBytes: 1 << 20 });
    const viaBare = new GatewayBackend({ target: bare.address, maxMessageBytes: 1 << 20 });
    const nobody = new GatewayBackend({ target: '127.0.0.1:1', maxMessageBytes: 1 << 20 });
    try {
      expect(await viaRouter.ready(deadline())).toBe(true);
      // grpc-js answers UNIMPLEMENTED for a service the server lacks
      expect(await viaBare.ready(deadline())).toBe(true);
      await expect(nobody.ready(deadline())).rejects.toMatchObject({ code: 'BG_UPSTREAM_UNAVAILABLE' });
    } finally {
      for (const b of [viaRouter, viaBare, nobody]) await b.close();
      router.close();
      bare.close();
    }
  });
});

describe('GatewayBackend errors', () => {
  it('reports a router without a route for a signature model as the deployment\'s 502, keeping its code and message', async () => {
    const router = await serve((s) =>
      s.addService(kserve.GRPCInferenceServiceService, {
        modelInfer: (_call: unknown, cb: (e: object) => void) => {
          const trailers = new Metadata();
          trailers.set('bg-error-code', 'BG_UNKNOWN_MODEL');
          trailers.set('x-gateway-error', 'BG_UNKNOWN_MODEL');
          cb({ code: status.NOT_FOUND, details: 'unknown model "6687ad3b04248f708c1e0c95"; known models: other', metadata: trailers });
        },
      } as unknown as kserve.GRPCInferenceServiceServer),
    );
    const signature = await loadSignatureFile(join(FIXTURES, 'existing-deployment-signature.yaml'));
    const model = new ModelCatalog(signature, { maxImagePixels: 1e6 }).get('6687ad3b04248f708c1e0c95');
    const backend = new GatewayBackend({ target: router.address, maxMessageBytes: 1 << 20 });
    try {
      await expect(backend.infer({ model: model.plan, inputs: [], outputs: ['output'], deadline: deadline() })).rejects.toMatchObject({
        code: 'BG_UPSTREAM_ERROR',
        httpStatus: 502,
        details: { upstreamStatus: 'BG_UNKNOWN_MODEL', upstreamMessage: expect.stringContaining('known models: other') },
      });
    } finally {
      await backend.close();
      router.close();
    }
  });
});
