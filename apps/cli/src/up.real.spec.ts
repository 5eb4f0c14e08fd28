import { readFile, rm, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './cli';
import { DEMO_DIR, DEMO_IDS, REPO_ROOT } from './testing/fixtures';
import { missingApps } from './up';

// `bundlegate up` end to end: the built apps as real processes on the demo bundle, answering real requests.
// Needs `npm run build` (CI builds before testing); without the apps there is nothing to run.
const missing = missingApps(REPO_ROOT);
const [ANOMALY, FRAUD] = DEMO_IDS;

function portIsFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

(missing.length > 0 ? describe.skip : describe)('bundlegate up (built apps)', () => {
  it('brings up the demo stack, answers config and predict with a demo image, and stops it all on Ctrl-C', async () => {
    const work = await mkdtemp(join(tmpdir(), 'bundlegate-up-real-'));
    const stop = new AbortController();
    const out: string[] = [];
    const relayed: string[] = [];
    let banner = '';
    const bannerSeen = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        banner = out.join('');
        if (banner.includes('Ctrl-C stops everything.')) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    });
    const running = runCli(['up', '--free_ports', '--work_dir', work, '--ready_timeout', '90s'], {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => out.push(t) },
      env: process.env,
      cwd: REPO_ROOT,
      signal: stop.signal,
      scriptDir: __dirname,
      relay: (name, line) => void relayed.push(`[${name}] ${line}`),
    });
    try {
      await Promise.race([bannerSeen, running.then((code) => Promise.reject(new Error(`up exited ${code} before it was ready:\n${out.join('')}\n${relayed.slice(-30).join('\n')}`)))]);
      const proxy = /model-proxy {4}(http:\/\/127\.0\.0\.1:\d+)/.exec(banner)?.[1] as string;
      expect(proxy).toBeDefined();
      expect(banner).toContain(`curl ${proxy}/api/v1/config`);

      const config = (await (await fetch(`${proxy}/api/v1/config`)).json()) as { bundles: { models: { id: string; ready: boolean }[] }[] };
      expect(config.bundles.flatMap((b) => b.models.map((m) => [m.id, m.ready]))).toEqual([
        [ANOMALY, true],
        [FRAUD, true],
      ]);

      const image = new Blob([await readFile(join(DEMO_DIR, 'samples', 'gradient-320x240.jpg'))], { type: 'image/jpeg' });
      const fraudForm = new FormData();
      fraudForm.append('image_input', image, 'gradient-320x240.jpg');
      const fraud = await fetch(`${proxy}/api/v1/models/${FRAUD}/predict`, { method: 'POST', body: fraudForm });
      expect(fraud.status).toBe(200);
      const fraudBody = (await fraud.json()) as { modelId: string; outputs: { typeId: string; label: string; score: number }[] };
      expect(fraudBody.modelId).toBe(FRAUD);
      expect(fraudBody.outputs[0]?.typeId).toBe('MaxClassification');
      expect(['authentic', 'tampered']).toContain(fraudBody.outputs[0]?.label);
      expect(fraudBody.outputs[0]?.score).toBeGreaterThanOrEqual(0.5);

      const anomalyForm = new FormData();
      anomalyForm.append('input', image, 'gradient-320x240.jpg');
      const anomaly = (await (await fetch(`${proxy}/api/v1/models/${ANOMALY}/predict`, { method: 'POST', body: anomalyForm })).json()) as {
        outputs: { typeId: string; rows: number; cols: number; channels: number; data: number[][][] }[];
      };
      const grid = anomaly.outputs[0];
      expect([grid?.typeId, grid?.rows, grid?.cols, grid?.channels]).toEqual(['GridEmbedding', 14, 14, 768]);
      expect([grid?.data.length, grid?.data[0]?.length, grid?.data[0]?.[0]?.length]).toEqual([14, 14, 768]);
    } finally {
      stop.abort();
      const code = await running;
      await rm(work, { recursive: true, force: true });
      expect(code).toBe(0);
    }
    expect(out.join('')).toContain('bundlegate: stopped');
    // every service released its port
    const ports = [...banner.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    expect(ports.length).toBeGreaterThanOrEqual(6);
    for (const port of new Set(ports)) expect(await portIsFree(port)).toBe(true);
  }, 180_000);
});
