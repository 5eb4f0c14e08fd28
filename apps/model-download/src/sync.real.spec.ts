import { startGcsEmulator, startS3rver, type GcsEmulatorHandle, type S3rverHandle } from '@bundlegate/emulators';
import { createLogger } from '@bundlegate/service-kit';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest } from './manifest';
import { createEncryptStream, generateModelKey, parseModelKey } from '@bundlegate/model-crypto';
import { syncModels, type ModelSource, type SyncOptions } from './sync';
import { fileStore, gcsStore, s3Store, type FixtureStore } from './testing/fixture-stores';
import { encodeTree, readTree } from './testing/tree';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';

const logger = createLogger({ service: 'model-download-test', level: 'silent' });

let s3: S3rverHandle;
let gcs: GcsEmulatorHandle;
beforeAll(async () => {
  [s3, gcs] = await Promise.all([startS3rver(), startGcsEmulator()]);
}, 300000);
afterAll(async () => {
  await Promise.all([s3?.stop(), gcs?.stop()]);
});

let seq = 0;
const stores: Record<'file' | 's3' | 'gs', () => Promise<FixtureStore>> = {
  file: () => fileStore(),
  // a fresh prefix per test keeps tests independent on one server
  s3: () => s3Store(s3, 'models-bucket', `t${++seq}`),
  gs: () => gcsStore(gcs, 'models-bucket', `t${++seq}`),
};

async function encrypt(key: Buffer, plain: Buffer): Promise<Buffer> {
  return buffer(Readable.from([plain]).pipe(createEncryptStream(key)));
}

describe.each(['file', 's3', 'gs'] as const)('sync from %s', (kind) => {
  let store: FixtureStore;
  let modelsDir: string;
  const sync = (models: string[], extra: Partial<SyncOptions> = {}) => {
    const backend = store.backend();
    const sources: ModelSource[] = models.map((modelId) => ({ modelId, backend }));
    return syncModels(sources, { modelsDir, concurrency: 4, logger, retryDelayMs: 1, ...extra }).finally(() => backend.close());
  };

  beforeEach(async () => {
    store = await stores[kind]();
    modelsDir = await mkdtemp(join(tmpdir(), 'md-models-'));
  });
  afterEach(async () => {
    await store.stop();
    await rm(modelsDir, { recursive: true, force: true });
  });

  it('first sync, no-op re-sync, changed file, new version, prune', async () => {
    const v1 = { '1/model.onnx': randomBytes(300_000), '1/assets/vocab (en)+1 é.txt': 'a\nb\n', 'config.pbtxt': 'name: "m1"' };
    for (const [k, v] of Object.entries(v1)) await store.put(`m1/${k}`, v);
    await store.put('m2/7/model.onnx', 'second model');

    const first = await sync(['m1', 'm2']);
    expect(first.failed).toEqual([]);
    expect(first.fetched).toBe(4);
    expect(await readTree(join(modelsDir, 'm1'))).toEqual(encodeTree(v1));
    expect(await readTree(join(modelsDir, 'm2'))).toEqual(encodeTree({ '7/model.onnx': 'second model' }));
    const manifest = await readManifest(modelsDir, 'm1');
    expect(Object.keys(manifest?.files ?? {}).sort()).toEqual(['1/assets/vocab (en)+1 é.txt', '1/model.onnx', 'config.pbtxt']);
    expect(manifest?.files['1/model.onnx']?.verifiedBy).toBe(kind === 'file' ? 'none' : kind === 's3' ? 'md5' : 'crc32c');
    // nothing left in staging
    expect(await readdir(modelsDir)).toEqual(expect.not.arrayContaining(['.staging']));

    const versionInode = (await stat(join(modelsDir, 'm1', '1'))).ino;
    const again = await sync(['m1', 'm2']);
    expect({ fetched: again.fetched, skipped: again.skipped, failed: again.failed }).toEqual({ fetched: 0, skipped: 4, failed: [] });
    expect((await stat(join(modelsDir, 'm1', '1'))).ino).toBe(versionInode);

    // same size, different bytes: only a checksum (or mtime for file://) can tell
    const vocabInode = (await stat(join(modelsDir, 'm1', '1', 'assets', 'vocab (en)+1 é.txt'))).ino;
    const changed = randomBytes(300_000);
    if (kind === 'file') await new Promise((r) => setTimeout(r, 20));
    await store.put('m1/1/model.onnx', changed);
    const third = await sync(['m1']);
    expect({ fetched: third.fetched, skipped: third.skipped }).toEqual({ fetched: 1, skipped: 2 });
    expect(await readFile(join(modelsDir, 'm1', '1', 'model.onnx'))).toEqual(changed);
    // the unchanged file was carried into the new version directory by a hard link, not downloaded
    expect((await stat(join(modelsDir, 'm1', '1', 'assets', 'vocab (en)+1 é.txt'))).ino).toBe(vocabInode);

    await store.put('m1/2/model.onnx', 'version two');
    const fourth = await sync(['m1']);
    expect(fourth.models[0]?.versionsInstalled).toEqual(['2']);
    expect(await readFile(join(modelsDir, 'm1', '2', 'model.onnx'), 'utf8')).toBe('version two');

    // prune: off by default (like rclone copy), on demand (like rclone sync)
    await store.remove('m1/1/model.onnx');
    await store.remove('m1/1/assets/vocab (en)+1 é.txt');
    await writeFile(join(modelsDir, 'm1', '2', 'local-extra.txt'), 'mine');
    await sync(['m1']);
    expect(existsSync(join(modelsDir, 'm1', '1', 'model.onnx'))).toBe(true);
    expect(existsSync(join(modelsDir, 'm1', '2', 'local-extra.txt'))).toBe(true);
    const pruned = await sync(['m1'], { prune: true });
    expect(pruned.failed).toEqual([]);
    expect(await readTree(join(modelsDir, 'm1'))).toEqual(encodeTree({ '2/model.onnx': 'version two', 'config.pbtxt': 'name: "m1"' }));
  });

  it('downloads large objects as parallel ranges and verifies them', async () => {
    const big = randomBytes(1_000_003);
    await store.put('big/1/weights.bin', big);
    const inner = store.backend();
    const ranges: string[] = [];
    // counts the ranged reads the real backend serves
    const backend = { ...inner, read: (key: string, range?: { start: number; end: number }) => (range && ranges.push(`${range.start}-${range.end}`), inner.read(key, range)) };
    const r = await syncModels([{ modelId: 'big', backend }], { modelsDir, logger, concurrency: 3, rangeThreshold: 200_000, rangeSize: 64 * 1024 });
    await inner.close();
    expect(r.failed).toEqual([]);
    // file:// copies locally without ranges; the buckets serve 16 ranges of 64 KiB
    expect(ranges.length).toBe(kind === 'file' ? 0 : 16);
    expect(createHash('md5').update(await readFile(join(modelsDir, 'big', '1', 'weights.bin'))).digest('hex')).toBe(
      createHash('md5').update(big).digest('hex'),
    );
    expect((await readManifest(modelsDir, 'big'))?.files['1/weights.bin']?.verifiedBy).toBe(kind === 'file' ? 'none' : kind === 's3' ? 'md5' : 'crc32c');
  });

  it('decrypts .enc files with the right key and installs nothing with a wrong one', async () => {
    const key = parseModelKey(generateModelKey(), 'test');
    const plain = randomBytes(200_000);
    await store.put('sec/1/model.onnx.enc', await encrypt(key, plain));
    await store.put('sec/config.pbtxt', 'plain config');
    const ok = await sync(['sec'], { decryptionKey: key });
    expect(ok.failed).toEqual([]);
    expect(await readTree(join(modelsDir, 'sec'))).toEqual(encodeTree({ '1/model.onnx': plain, 'config.pbtxt': 'plain config' }));

    // a new encrypted file and a wrong key: the failure is loud and the previous version stays whole
    await store.put('sec/1/model.onnx.enc', await encrypt(key, randomBytes(200_000)));
    await store.put('sec/2/model.onnx.enc', await encrypt(key, randomBytes(1000)));
    const wrong = await sync(['sec'], { decryptionKey: parseModelKey(generateModelKey(), 'wrong') });
    expect(wrong.failed.map((f) => f.error?.code)).toEqual(['BG_DECRYPTION_FAILED']);
    expect(wrong.failed[0]?.error?.message).toMatch(/sec\/(1|2)\/model\.onnx\.enc.*authentication failed/);
    expect(await readTree(join(modelsDir, 'sec'))).toEqual(encodeTree({ '1/model.onnx': plain, 'config.pbtxt': 'plain config' }));

    const noKey = await sync(['sec']);
    expect(noKey.failed[0]?.error?.message).toMatch(/no key is configured/);
  });

  it('fails a model with no objects, naming the place it looked', async () => {
    await store.put('present/1/a', 'x');
    const r = await sync(['present', 'absent']);
    expect(r.failed.map((f) => f.modelId)).toEqual(['absent']);
    expect(r.failed[0]?.error?.code).toBe('BG_DOWNLOAD_FAILED');
    expect(r.failed[0]?.error?.message).toContain(`${store.uri}/absent/`);
    expect(existsSync(join(modelsDir, 'present', '1', 'a'))).toBe(true);
  });
});
