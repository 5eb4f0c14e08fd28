import * as grpc from '@grpc/grpc-js';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createMetrics, listenHttp } from '@bundlegate/service-kit';
import { createGateway } from './gateway';
import { md, rawClient, routeTo, startBackend, TEST_METHODS, testConfig, tlsFile, unary } from './test-backend';

const logger = createLogger({ service: 'gateway-test', level: 'silent' });
const metrics = () => createMetrics({ service: 'gateway', defaultMetrics: false });

describe('TLS', () => {
  test('TLS listener, mTLS required of clients, TLS and mTLS to upstreams', async () => {
    const backend = await startBackend(
      'tls-backend',
      grpc.ServerCredentials.createSsl(tlsFile('ca.pem'), [{ private_key: tlsFile('server.key'), cert_chain: tlsFile('server.pem') }], false),
    );
    const strict = await startBackend(
      'mtls-backend',
      grpc.ServerCredentials.createSsl(tlsFile('ca.pem'), [{ private_key: tlsFile('server.key'), cert_chain: tlsFile('server.pem') }], true),
    );
    const config = testConfig([]);
    const gateway = createGateway(
      { ...config, listener: { ...config.listener, tls: { cert: tlsFile('server.pem'), key: tlsFile('server.key'), clientCa: tlsFile('ca.pem') } } },
      { logger, metrics: metrics() },
    );
    const ca = join(__dirname, 'fixtures/tls/ca.pem');
    gateway.setRoutes([
      routeTo('m1', [backend.port], { tls: { ca, cert: undefined, key: undefined, serverName: 'localhost', insecureSkipVerify: false } }),
      // mTLS upstream: the gateway presents its client certificate
      routeTo('m2', [strict.port], { tls: { ca, cert: join(__dirname, 'fixtures/tls/client.pem'), key: join(__dirname, 'fixtures/tls/client.key'), serverName: 'localhost', insecureSkipVerify: false } }),
      routeTo('m3', [strict.port], { tls: { ca, cert: undefined, key: undefined, serverName: 'localhost', insecureSkipVerify: false }, maxAttempts: 1 }),
    ]);
    const ports = await gateway.listen();
    const withCert = rawClient(ports.grpc, grpc.credentials.createSsl(tlsFile('ca.pem'), tlsFile('client.key'), tlsFile('client.pem')), {
      'grpc.ssl_target_name_override': 'localhost',
    });
    const withoutCert = rawClient(ports.grpc, grpc.credentials.createSsl(tlsFile('ca.pem')), { 'grpc.ssl_target_name_override': 'localhost' });
    try {
      const ok = await unary(withCert, TEST_METHODS.Unary.path, Buffer.from('secure'), md({ 'model-id': 'm1' }));
      expect(ok.error).toBeNull();
      expect(ok.response?.toString()).toBe('secure');
      expect(ok.headers?.get('x-backend')).toEqual(['tls-backend']);
      const refused = await unary(withoutCert, TEST_METHODS.Unary.path, Buffer.from('x'), md({ 'model-id': 'm1' }), { deadline: Date.now() + 3000 });
      expect(refused.error?.code).toBe(grpc.status.UNAVAILABLE);
      const mutual = await unary(withCert, TEST_METHODS.Unary.path, Buffer.from('both ways'), md({ 'model-id': 'm2' }));
      expect(mutual.error).toBeNull();
      expect(mutual.headers?.get('x-backend')).toEqual(['mtls-backend']);
      const noClientCert = await unary(withCert, TEST_METHODS.Unary.path, Buffer.from('x'), md({ 'model-id': 'm3' }));
      expect(noClientCert.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect(noClientCert.error?.metadata.get('x-gateway-error')).toEqual(['BG_UPSTREAM_UNAVAILABLE']);
    } finally {
      withCert.close();
      withoutCert.close();
      await gateway.close();
      await Promise.all([backend.close(), strict.close()]);
    }
  });
});

describe('REST and admin endpoints', () => {
  let rest: Server;
  let restPort: number;
  const seen: { url: string; headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    rest = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ready: true, url: req.url }));
      });
    });
    restPort = await listenHttp(rest, '127.0.0.1', 0);
  });

  afterAll(async () => {
    await new Promise((r) => rest.close(r));
  });

  test('REST calls go to the model by path or by model-id header; errors are JSON with x-gateway-error', async () => {
    const backend = await startBackend('grpc-side');
    const gateway = createGateway(testConfig([]), { logger, metrics: metrics() });
    gateway.setRoutes([{ ...routeTo('m1', [backend.port]), restEndpoints: [{ host: '127.0.0.1', port: restPort }] }, routeTo('m2', [backend.port])]);
    const ports = await gateway.listen();
    const base = `http://127.0.0.1:${ports.rest}`;
    try {
      const byPath = await fetch(`${base}/v2/models/m1/ready`);
      expect(byPath.status).toBe(200);
      expect(await byPath.json()).toEqual({ ready: true, url: '/v2/models/m1/ready' });

      const byHeader = await fetch(`${base}/v2/models/resnet/infer`, { method: 'POST', headers: { 'model-id': 'm1', 'content-type': 'application/json' }, body: '{"inputs":[]}' });
      expect(byHeader.status).toBe(200);
      expect(seen.at(-1)?.body).toBe('{"inputs":[]}');
      expect(seen.at(-1)?.headers['model-id']).toBe('m1');

      const tfs = await fetch(`${base}/v1/models/m1:predict`, { method: 'POST', body: '{}' });
      expect(tfs.status).toBe(200);
      expect(seen.at(-1)?.url).toBe('/v1/models/m1:predict');

      const unknown = await fetch(`${base}/v2/models/zzz/ready`);
      expect(unknown.status).toBe(404);
      expect(unknown.headers.get('x-gateway-error')).toBe('BG_UNKNOWN_MODEL');
      expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('BG_UNKNOWN_MODEL');

      const noRest = await fetch(`${base}/v2/models/m2/ready`);
      expect(noRest.status).toBe(503);
      expect(noRest.headers.get('x-gateway-error')).toBe('BG_NO_HEALTHY_ENDPOINT');

      const missing = await fetch(`${base}/v2/health/ready`);
      expect(missing.status).toBe(400);
      expect(missing.headers.get('x-gateway-error')).toBe('BG_MISSING_MODEL_ID');

      const routes = (await (await fetch(`${base}/routes`)).json()) as { routes: { modelId: string; endpoints: { address: string }[] }[] };
      expect(routes.routes.map((r) => r.modelId)).toEqual(['m1', 'm2']);
      expect(routes.routes[0]?.endpoints[0]?.address).toBe(`127.0.0.1:${backend.port}`);

      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toContain('gateway_rest_requests_total{model_id="m1",status="200",service="gateway"} 3');
    } finally {
      await gateway.close();
      await backend.close();
    }
  });

  test('admin endpoints on their own port; GET /health on the gRPC port as the nginx setup had', async () => {
    const backend = await startBackend('x');
    const gateway = createGateway(testConfig([`m1=127.0.0.1:${backend.port}`], { adminPort: 0 }), { logger, metrics: metrics() });
    const ports = await gateway.listen();
    try {
      expect(ports.admin).not.toBe(ports.rest);
      expect((await fetch(`http://127.0.0.1:${ports.admin}/readyz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${ports.rest}/readyz`)).status).toBe(404);
      const http2 = await import('node:http2');
      const session = http2.connect(`http://127.0.0.1:${ports.grpc}`);
      const status = await new Promise<number>((resolve) => {
        const req = session.request({ ':path': '/health' });
        req.on('response', (h) => resolve(Number(h[':status'])));
        req.resume();
      });
      session.close();
      expect(status).toBe(200);
    } finally {
      await gateway.close();
      await backend.close();
    }
  });
});

describe('routes file', () => {
  test('a changed routes.yaml is picked up by the watcher; a broken one keeps the previous table', async () => {
    const [one, two] = await Promise.all([startBackend('one'), startBackend('two')]);
    const dir = mkdtempSync(join(tmpdir(), 'gateway-routes-'));
    const file = join(dir, 'routes.yaml');
    writeFileSync(file, `routes:\n  - modelId: m1\n    endpoints: ["127.0.0.1:${one.port}"]\n`);
    const gateway = createGateway(testConfig([], { source: { kind: 'file', path: file }, reloadIntervalMs: 50 }), { logger, metrics: metrics() });
    const ports = await gateway.listen();
    const client = rawClient(ports.grpc);
    try {
      expect((await unary(client, TEST_METHODS.Unary.path, Buffer.from('a'), md({ 'model-id': 'm1' }))).headers?.get('x-backend')).toEqual(['one']);
      writeFileSync(file, `routes:\n  - modelId: m1\n    endpoints: ["127.0.0.1:${two.port}"]\n    lbPolicy: least_request\n`);
      await waitFor(() => gateway.table.routes[0]?.cluster.endpoints[0]?.port === two.port);
      expect((await unary(client, TEST_METHODS.Unary.path, Buffer.from('a'), md({ 'model-id': 'm1' }))).headers?.get('x-backend')).toEqual(['two']);
      writeFileSync(file, 'routes:\n  - modelId: m1\n    endpoints: ["not-an-address"]\n');
      expect(await gateway.reload()).toBe(false);
      expect(gateway.table.routes[0]?.cluster.endpoints[0]?.port).toBe(two.port);
    } finally {
      client.close();
      await gateway.close();
      await Promise.all([one.close(), two.close()]);
    }
  });
});

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
