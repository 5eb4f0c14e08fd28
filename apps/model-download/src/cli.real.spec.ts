import { startS3rver, type S3rverHandle } from '@bundlegate/emulators';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decryptModelFile, encryptModelFile, generateModelKey, parseModelKey } from '@bundlegate/model-crypto';
import { buildCli, runBuiltCli } from './testing/cli-process';
import { s3Store, type FixtureStore } from './testing/fixture-stores';
import { encodeTree, readTree } from './testing/tree';

let s3: S3rverHandle;
let work: string;
beforeAll(async () => {
  [s3] = await Promise.all([startS3rver(), buildCli()]);
}, 120000);
afterAll(() => s3?.stop());
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'md-cli-'));
});
afterEach(() => rm(work, { recursive: true, force: true }));

/** Deterministic bytes, so every run of the test kills at the same offsets into the same data. */
function bytes(seed: number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed * 2654435761;
  for (let i = 0; i < n; i += 4) {
    x = (x ^ (x << 13)) >>> 0;
    x = (x ^ (x >>> 17)) >>> 0;
    x = (x ^ (x << 5)) >>> 0;
    out.writeUInt32LE(x, Math.min(i, n - 4));
  }
  return out;
}

/** mulberry32: a seeded PRNG for the kill delays. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const digest = (files: Record<string, string>) =>
  createHash('sha256').update(JSON.stringify(Object.entries(files).sort(([a], [b]) => (a < b ? -1 : 1)))).digest('hex');

/** JSON log lines the CLI wrote to stdout. */
function logLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('model-download CLI', () => {
  it('reports every configuration problem at once and exits 2', async () => {
    const r = await runBuiltCli(['--concurrency', 'zero', '--bogus'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--models-dir / MODEL_DOWNLOAD_MODELS_DIR');
    expect(r.stderr).toContain('--concurrency / MODEL_DOWNLOAD_CONCURRENCY');
    expect(r.stderr).toContain('--bogus');
    const help = await runBuiltCli(['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('MODEL_DOWNLOAD_PRUNE');
  });

  it('syncs --source file:// models, prints a summary, and names the failing model and why', async () => {
    await mkdir(join(work, 'bucket', 'm1', '1'), { recursive: true });
    await writeFile(join(work, 'bucket', 'm1', '1', 'model.onnx'), 'onnx bytes');
    const models = join(work, 'models');
    const ok = await runBuiltCli(['--source', 'file://./bucket', '--model', 'm1', '--models-dir', models], {}, { cwd: work });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(await readFile(join(models, 'm1', '1', 'model.onnx'), 'utf8')).toBe('onnx bytes');
    const summary = logLines(ok.stdout).find((l) => l['msg'] === 'summary')?.['summary'];
    expect(summary).toMatchObject({ models: 1, files: 1, bytes: 10, skipped: 0, failedModels: [] });
    expect(typeof (summary as { mbPerSec: unknown }).mbPerSec).toBe('number');

    const bad = await runBuiltCli([], { MODEL_DOWNLOAD_SOURCE: 'file://./bucket', MODEL_DOWNLOAD_MODEL: 'm1,ghost', MODEL_DOWNLOAD_MODELS_DIR: models }, { cwd: work });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/model ghost \(file:\/\/.*\/bucket\/ghost\/\): BG_DOWNLOAD_FAILED: .*no objects found there/);
  });

  it('syncs a bundle from s3 with credentials and the model key from the deployment dir', async () => {
    const store: FixtureStore = await s3Store(s3, 'models-bucket', 'cli');
    const key = generateModelKey();
    const plain = randomBytes(100_000);
    await writeFile(join(work, 'plain'), plain);
    await writeFile(join(work, 'model.key'), key);
    const enc = await runBuiltCli(['encrypt-model', '--key', join(work, 'model.key'), join(work, 'plain'), join(work, 'plain.enc')], {});
    expect(enc.code).toBe(0);
    await store.put('6687ad3b04248f708c1e0c95/1/model.onnx.enc', await readFile(join(work, 'plain.enc')));
    await store.put('6687ad3b04248f708c1e0c95/config.pbtxt', 'config');

    const deployment = join(work, 'deployment');
    await mkdir(join(deployment, 'creds', 'bundle'), { recursive: true });
    await cp(join(work, 'model.key'), join(deployment, 'creds', 'bundle', 'model.key'));
    // the variables existing deployments set for rclone
    await writeFile(
      join(deployment, 'creds', 'bundle', '.env'),
      `RCLONE_S3_PROVIDER=Other\nRCLONE_S3_ACCESS_KEY_ID=S3RVER\nRCLONE_S3_SECRET_ACCESS_KEY=S3RVER\nRCLONE_S3_ENDPOINT=${s3.endpoint}\n`,
    );
    await writeFile(
      join(work, 'bundle.yaml'),
      `name: demo\nsignature: bundle-signature.yaml\nsource: ${store.uri}\nmodels:\n  - id: 6687ad3b04248f708c1e0c95\n    engine: onnx-serving\n    encrypted: true\n`,
    );
    const models = join(work, 'models');
    const r = await runBuiltCli(['--bundle', join(work, 'bundle.yaml'), '--models-dir', models, '--deployment-dir', deployment], {});
    // on node 20 the AWS SDK warns about its own support window; nothing else may reach stderr
    expect(r.stderr.replace(/^.*NodeVersionSupportWarning[\s\S]*?--trace-warnings[^\n]*\n/m, '')).toBe('');
    expect(r.code).toBe(0);
    expect(await readTree(join(models, '6687ad3b04248f708c1e0c95'))).toEqual(encodeTree({ '1/model.onnx': plain, 'config.pbtxt': 'config' }));
    // the secret never reaches the logs
    expect(r.stdout).not.toContain(key.trim());
    expect(r.stdout).not.toMatch(/"RCLONE_S3_SECRET_ACCESS_KEY":"S3RVER"/);

    const wrongKey = await runBuiltCli(['--bundle', join(work, 'bundle.yaml'), '--models-dir', join(work, 'other'), '--deployment-dir', deployment], {
      MODEL_DECRYPTION_KEY: generateModelKey(),
    });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stderr).toMatch(/BG_DECRYPTION_FAILED: cannot decrypt .*1\/model\.onnx\.enc: authentication failed/);
    expect(existsSync(join(work, 'other', '6687ad3b04248f708c1e0c95', '1'))).toBe(false);
  });

  it('encrypt-model output decrypts back to the input', async () => {
    const keyText = generateModelKey();
    await writeFile(join(work, 'k'), keyText);
    const data = randomBytes(70_000);
    await writeFile(join(work, 'in'), data);
    const r = await runBuiltCli(['encrypt-model', '--key', 'k', 'in', 'in.enc'], {}, { cwd: work });
    expect(r.code).toBe(0);
    await decryptModelFile(parseModelKey(keyText, 'k'), join(work, 'in.enc'), join(work, 'back'));
    expect(createHash('sha256').update(await readFile(join(work, 'back'))).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    await encryptModelFile(parseModelKey(keyText, 'k'), join(work, 'in'), join(work, 'again.enc'));
    expect((await readFile(join(work, 'again.enc'))).length).toBe((await readFile(join(work, 'in.enc'))).length);
  });

  it('SIGKILL at random points leaves every version either as it was or complete, and the next run finishes', async () => {
    const stateA: Record<string, Buffer> = {};
    for (let i = 0; i < 4; i++) stateA[`1/part-${i}.bin`] = bytes(i + 1, 400_000);
    stateA['config.pbtxt'] = Buffer.from('name: "m" # A');
    const stateB: Record<string, Buffer> = { ...stateA, '1/part-0.bin': bytes(100, 400_000), 'config.pbtxt': Buffer.from('name: "m" # B') };
    for (let i = 0; i < 6; i++) stateB[`2/part-${i}.bin`] = bytes(200 + i, 600_000);

    const store = await s3Store(s3, 'models-bucket', 'kill');
    const models = join(work, 'models');
    const args = ['--source', store.uri, '--model', 'm', '--models-dir', models, '--concurrency', '2', '--range-threshold', '256KiB', '--range-size', '64KiB', '--progress', 'none'];
    for (const [k, v] of Object.entries(stateA)) await store.put(`m/${k}`, v);
    const t0 = Date.now();
    const first = await runBuiltCli(args, store.env);
    expect(first.code).toBe(0);
    // kill times scale with how long a full run takes on this machine right now
    const fullRunMs = Date.now() - t0;

    for (const [k, v] of Object.entries(stateB)) await store.put(`m/${k}`, v);
    // what may be seen per top-level entry: its A form or its B form, whole
    const allowed = new Map<string, Set<string>>();
    for (const state of [stateA, stateB]) {
      const groups = new Map<string, Record<string, string>>();
      for (const [k, v] of Object.entries(state)) {
        const top = k.split('/')[0] as string;
        groups.set(top, { ...(groups.get(top) ?? {}), [k]: v.toString('base64') });
      }
      for (const [top, files] of groups) allowed.set(top, new Set([...(allowed.get(top) ?? []), digest(files)]));
    }

    const random = prng(20261121);
    const outcomes: string[] = [];
    let target = stateB;
    let scale = 1;
    let kills = 0;
    // until five runs were killed mid-way; a run that finished first makes the next kills come sooner
    for (let i = 0; i < 16 && kills < 5; i++) {
      const delay = Math.floor(fullRunMs * scale * (0.3 + random() * 0.9));
      const run = await runBuiltCli(args, store.env, { killAfterMs: delay });
      outcomes.push(`${delay}ms:${run.signal ?? run.code}`);
      if (run.signal === 'SIGKILL') kills++;
      else scale *= 0.7;
      if (run.code === 0) {
        // a run that finished leaves nothing to interrupt: flip the source between A and B (version 2 stays, no --prune)
        target = target === stateB ? stateA : stateB;
        await store.put('m/1/part-0.bin', target['1/part-0.bin'] as Buffer);
        await store.put('m/config.pbtxt', target['config.pbtxt'] as Buffer);
      }
      const tree = await readTree(join(models, 'm'));
      const groups = new Map<string, Record<string, string>>();
      for (const [k, v] of Object.entries(tree)) {
        const top = k.split('/')[0] as string;
        groups.set(top, { ...(groups.get(top) ?? {}), [k]: v });
      }
      for (const [top, files] of groups) {
        expect({ kill: outcomes.at(-1), top, ok: allowed.get(top)?.has(digest(files)) ?? false }).toEqual({ kill: outcomes.at(-1), top, ok: true });
      }
      // version 1 is never missing for longer than one swap: it exists after every kill but a kill inside the swap itself
      expect(existsSync(join(models, 'm', 'config.pbtxt'))).toBe(true);
    }
    expect(kills).toBe(5);

    const last = await runBuiltCli(args, store.env);
    expect(last.code).toBe(0);
    const expected = { ...stateB, '1/part-0.bin': target['1/part-0.bin'], 'config.pbtxt': target['config.pbtxt'] };
    expect(await readTree(join(models, 'm'))).toEqual(Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, (v as Buffer).toString('base64')])));
    expect((await readdir(models)).sort()).toEqual(['.manifests', 'm']);
  }, 120000);
});
