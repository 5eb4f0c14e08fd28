import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpProbe, ReadinessTimeoutError, waitUntilReady } from './readiness';

async function serve(handler: (path: string) => number): Promise<{ server: Server; url: (path: string) => string }> {
  const server = createServer((req, res) => {
    res.statusCode = handler(req.url ?? '/');
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: (path) => `http://127.0.0.1:${port}${path}` };
}

describe('httpProbe', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('is ready on 200 only, and says what it saw', async () => {
    const s = await serve((path) => (path === '/ok' ? 200 : path === '/busy' ? 503 : 404));
    server = s.server;
    await expect(httpProbe(s.url('/ok')).check()).resolves.toEqual({ ready: true, detail: 'HTTP 200' });
    await expect(httpProbe(s.url('/busy')).check()).resolves.toEqual({ ready: false, detail: 'HTTP 503' });
    await expect(httpProbe(s.url('/nope')).check()).resolves.toEqual({ ready: false, detail: 'HTTP 404' });
  });

  it('reports a refused connection as not ready', async () => {
    const s = await serve(() => 200);
    const url = s.url('/ok');
    await new Promise((r) => s.server.close(r));
    const result = await httpProbe(url).check();
    expect(result.ready).toBe(false);
    expect(result.detail).toMatch(/ECONNREFUSED/);
  });
});

describe('waitUntilReady', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it('resolves once every probe answered 200, polling until then', async () => {
    let calls = 0;
    const s = await serve((path) => (path === '/a' ? 200 : ++calls >= 4 ? 200 : 503));
    server = s.server;
    await waitUntilReady('stack', [httpProbe(s.url('/a')), httpProbe(s.url('/b'))], { timeoutMs: 5000, intervalMs: 20 });
    expect(calls).toBe(4);
  });

  it('fails at the deadline naming each probe still not ready and what it last saw', async () => {
    const s = await serve((path) => (path === '/a' ? 200 : 503));
    server = s.server;
    const started = Date.now();
    const error = await waitUntilReady('onnx-serving', [httpProbe(s.url('/a')), httpProbe(s.url('/b'))], { timeoutMs: 300, intervalMs: 20 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReadinessTimeoutError);
    expect((error as ReadinessTimeoutError).pending).toEqual([{ probe: `GET ${s.url('/b')}`, detail: 'HTTP 503' }]);
    expect((error as Error).message).toBe(`onnx-serving not ready after 0.3 s: GET ${s.url('/b')} → HTTP 503`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('stops waiting when aborted, with the abort reason', async () => {
    const s = await serve(() => 503);
    server = s.server;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('child died')), 100);
    await expect(waitUntilReady('x', [httpProbe(s.url('/'))], { timeoutMs: 10_000, intervalMs: 20, signal: controller.signal })).rejects.toThrow('child died');
  });
});
