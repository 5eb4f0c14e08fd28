import { createServer, type Server } from 'node:http';
import { closeHttpServer, listenHttp } from './net';
import { createAdminHandler } from './health-http';
import { HealthState } from './health';
import { createMetrics } from './metrics';

describe('admin handler on a real node:http server', () => {
  let server: Server;
  let base: string;
  const health = new HealthState({ checks: ['models'] });
  const metrics = createMetrics({ service: 'test-svc', defaultMetrics: false });
  metrics.counter({ name: 'bg_test_total', help: 'Test.' }).inc(7);

  beforeAll(async () => {
    server = createServer(createAdminHandler({ health, metrics }));
    base = `http://127.0.0.1:${await listenHttp(server, '127.0.0.1', 0)}`;
  });
  afterAll(() => closeHttpServer(server, 100));

  it('serves /healthz, and /readyz with reasons, following the state', async () => {
    const live = await fetch(`${base}/healthz`);
    expect([live.status, await live.json()]).toEqual([200, { live: true }]);
    expect(live.headers.get('cache-control')).toBe('no-store');

    const notReady = await fetch(`${base}/readyz?verbose=1`);
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({
      live: true,
      ready: false,
      shuttingDown: false,
      checks: { models: { ready: false, reason: 'starting' } },
    });

    health.setReady('models', true);
    const ready = await fetch(`${base}/readyz`);
    expect([ready.status, ((await ready.json()) as { ready: boolean }).ready]).toEqual([200, true]);

    const head = await fetch(`${base}/readyz`, { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
  });

  it('serves Prometheus text on /metrics', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await res.text()).toContain('bg_test_total{service="test-svc"} 7');
  });

  it('answers unknown paths and wrong methods with registry errors', async () => {
    const missing = await fetch(`${base}/nope`);
    expect([missing.status, await missing.json()]).toEqual([
      404,
      { error: { code: 'BG_NOT_FOUND', message: 'no route for GET /nope', method: 'GET', path: '/nope' } },
    ]);
    const post = await fetch(`${base}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect(((await post.json()) as { error: { code: string } }).error.code).toBe('BG_METHOD_NOT_ALLOWED');
  });

  it('works as middleware: passes paths it does not serve to next()', () => {
    const handler = createAdminHandler({ health });
    const calls: string[] = [];
    handler({ url: '/api/v1/config', method: 'GET' } as never, {} as never, () => calls.push('next'));
    expect(calls).toEqual(['next']);
  });
});
