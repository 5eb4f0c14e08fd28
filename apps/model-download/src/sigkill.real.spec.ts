import { startS3rver, type S3rverHandle } from '@bundlegate/emulators';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCli, runBuiltCli } from './testing/cli-process';
import { s3Store, type FixtureStore } from './testing/fixture-stores';
import { readTree } from './testing/tree';

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

let s3: S3rverHandle;
let store: FixtureStore;
let work: string;
beforeAll(async () => {
  [s3] = await Promise.all([startS3rver(), buildCli()]);
  store = await s3Store(s3, 'models-bucket', 'kill');
  work = await mkdtemp(join(tmpdir(), 'md-kill-'));
}, 120000);
afterAll(async () => {
  await s3?.stop();
  await rm(work, { recursive: true, force: true });
});

it('SIGKILL at random points leaves every version either as it was or complete, and the next run finishes', async () => {
  const stateA: Record<string, Buffer> = {};
  for (let i = 0; i < 4; i++) stateA[`1/part-${i}.bin`] = bytes(i + 1, 400_000);
  stateA['config.pbtxt'] = Buffer.from('name: "m" # A');
  const stateB: Record<string, Buffer> = { ...stateA, '1/part-0.bin': bytes(100, 400_000), 'config.pbtxt': Buffer.from('name: "m" # B') };
  for (let i = 0; i < 6; i++) stateB[`2/part-${i}.bin`] = bytes(200 + i, 600_000);

  const models = join(work, 'models');
  const args = ['--source', store.uri, '--model', 'm', '--models-dir', models, '--concurrency', '2', '--range-threshold', '256KiB', '--range-size', '64KiB', '--progress', 'none'];
  for (const [k, v] of Object.entries(stateA)) await store.put(`m/${k}`, v);
  const first = await runBuiltCli(args, store.env);
  expect(first.code).toBe(0);

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
  for (let i = 0; i < 10; i++) {
    const delay = 150 + Math.floor(random() * 1350);
    const run = await runBuiltCli(args, store.env, { killAfterMs: delay });
    outcomes.push(`${delay}ms:${run.signal ?? run.code}`);
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
  expect(outcomes.filter((o) => o.endsWith('SIGKILL')).length).toBeGreaterThanOrEqual(4);

  const last = await runBuiltCli(args, store.env);
  expect(last.code).toBe(0);
  const expected = { ...stateB, '1/part-0.bin': target['1/part-0.bin'], 'config.pbtxt': target['config.pbtxt'] };
  expect(await readTree(join(models, 'm'))).toEqual(Object.fromEntries(Object.entries(expected).map(([k, v]) => [k, (v as Buffer).toString('base64')])));
  expect((await readdir(models)).sort()).toEqual(['.manifests', 'm']);
}, 120000);
