import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

// The fixture is bundled like an app (third-party packages external) and run as a real process.
const outDir = join(__dirname, '..', '..', '..', 'tmp', 'service-kit-fixtures');
const outFile = join(outDir, `shutdown-child-${process.pid}.cjs`);

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(__dirname, 'fixtures', 'shutdown-child.ts')],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    plugins: [
      {
        name: 'external-third-party',
        setup(b) {
          b.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith('@bundlegate/') ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });
});

afterAll(() => rmSync(outFile, { force: true }));

interface Child {
  proc: ChildProcess;
  lines: Record<string, unknown>[];
  waitForMsg(msg: string): Promise<Record<string, unknown>>;
  exitCode: Promise<number | null>;
}

function start(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, [outFile], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: Record<string, unknown>[] = [];
  const waiters: { msg: string; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) !== -1) {
      const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((x) => x.msg === line.msg)) w.resolve(line);
    }
  });
  const exitCode = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    proc,
    lines,
    exitCode,
    waitForMsg: (msg) => {
      const seen = lines.find((l) => l.msg === msg);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ msg, resolve }));
    },
  };
}

const msgs = (c: Child) => c.lines.map((l) => l.msg);

describe('installShutdown in a real process', () => {
  it('on SIGTERM marks not ready, lets the in-flight request finish, runs the steps and exits 0', async () => {
    const c = start({ FIXTURE_SLOW: '400ms' });
    const { port } = await c.waitForMsg('listening');
    const response = fetch(`http://127.0.0.1:${String(port)}/slow`).then((r) => r.text());
    await c.waitForMsg('slow request started');
    c.proc.kill('SIGTERM');
    expect(await response).toBe('done');
    expect(await c.exitCode).toBe(0);
    expect(msgs(c)).toEqual([
      'listening',
      'slow request started',
      'shutting down',
      'readiness changed',
      'shutdown step done',
      'shutdown step done',
      'stopped',
    ]);
    expect(c.lines.find((l) => l.msg === 'readiness changed')).toMatchObject({ ready: false });
    expect(c.lines.find((l) => l.msg === 'shutting down')).toMatchObject({ reason: 'SIGTERM' });
  });

  it('exits 1 when draining outlasts the timeout', async () => {
    const c = start({ FIXTURE_SLOW: '10s', FIXTURE_DRAIN: '300ms' });
    const { port } = await c.waitForMsg('listening');
    void fetch(`http://127.0.0.1:${String(port)}/slow`).catch(() => undefined);
    await c.waitForMsg('slow request started');
    const sent = Date.now();
    c.proc.kill('SIGINT');
    expect(await c.exitCode).toBe(1);
    expect(Date.now() - sent).toBeLessThan(5000);
    expect(msgs(c)).toContain('shutdown timed out; exiting');
    expect(msgs(c)).not.toContain('stopped');
  });

  it('exits 1 at once on a second signal', async () => {
    const c = start({ FIXTURE_SLOW: '10s', FIXTURE_DRAIN: '20s' });
    const { port } = await c.waitForMsg('listening');
    void fetch(`http://127.0.0.1:${String(port)}/slow`).catch(() => undefined);
    await c.waitForMsg('slow request started');
    c.proc.kill('SIGTERM');
    await c.waitForMsg('shutting down');
    c.proc.kill('SIGTERM');
    expect(await c.exitCode).toBe(1);
    expect(msgs(c)).toContain('second signal while shutting down; exiting now');
  });

  it('exits 1 when a step fails, after running the others', async () => {
    const c = start({ FIXTURE_FAIL_STEP: 'true' });
    await c.waitForMsg('listening');
    c.proc.kill('SIGTERM');
    expect(await c.exitCode).toBe(1);
    expect(msgs(c).slice(-3)).toEqual(['shutdown step done', 'shutdown step failed', 'stopped']);
    expect(c.lines.find((l) => l.msg === 'shutdown step failed')).toMatchObject({
      step: 'close resources',
      err: { message: 'resource close failed' },
    });
  });
});
