import { startGcsEmulator, startS3rver, type GcsEmulatorHandle, type S3rverHandle } from '@bundlegate/emulators';
import { parseSourceUri } from '@bundlegate/bundle';
import { createLogger } from '@bundlegate/service-kit';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { createBackend } from './source';
import { createS3Backend, s3SettingsFromEnv } from './storage-s3';
import type { StorageBackend } from './storage';
import { syncModels, type SyncOptions } from './sync';
import { gcsStore, s3Store, s3Env } from './testing/fixture-stores';
import { encodeTree, readTree } from './testing/tree';

const logger = createLogger({ service: 'model-download-test', level: 'silent' });

let s3: S3rverHandle;
let gcs: GcsEmulatorHandle;
let root: string;
let modelsDir: string;
beforeAll(async () => {
  [s3, gcs] = await Promise.all([startS3rver(), startGcsEmulator()]);
}, 300000);
afterAll(async () => {
  await Promise.all([s3?.stop(), gcs?.stop()]);
});
beforeEach(async () => {
  // models dir one level down, so anything written beside it would show up in `root`
  root = await mkdtemp(join(tmpdir(), 'md-fail-'));
  modelsDir = join(root, 'models');
});
afterEach(() => rm(root, { recursive: true, force: true }));

const options = (extra: Partial<SyncOptions> = {}): SyncOptions => ({ modelsDir, concurrency: 4, logger, retries: 2, retryDelayMs: 1, ...extra });

/** Flips one byte of the first `times` reads: what a flaky network or a bad proxy does. */
function corruptingReads(inner: StorageBackend, times: number): StorageBackend & { reads: number } {
  const wrapper = {
    ...inner,
    reads: 0,
    async read(key: string, range?: { start: number; end: number }) {
      const got = await inner.read(key, range);
      if (wrapper.reads++ >= times) return got;
      let flipped = false;
      const flip = new Transform({
        transform(chunk: Buffer, _e, done) {
          if (!flipped && chunk.length > 0) {
            chunk = Buffer.from(chunk);
            chunk[0] = (chunk[0] ?? 0) ^ 0xff;
            flipped = true;
          }
          done(null, chunk);
        },
      });
      return { ...got, stream: got.stream.pipe(flip) };
    },
  };
  return wrapper;
}

describe('verification', () => {
  it('retries an object whose bytes do not match its checksum, then succeeds', async () => {
    const store = await s3Store(s3, 'models-bucket', 'retry');
    const body = randomBytes(50_000);
    await store.put('m/1/model.onnx', body);
    const backend = corruptingReads(store.backend(), 1);
    const r = await syncModels([{ modelId: 'm', backend }], options());
    expect(r.failed).toEqual([]);
    expect(backend.reads).toBe(2);
    expect(await readFile(join(modelsDir, 'm', '1', 'model.onnx'))).toEqual(body);
    await backend.close();
  });

  it('fails a corrupted object after the retries, naming model, object and checksums, and keeps the previous version', async () => {
    const store = await s3Store(s3, 'models-bucket', 'corrupt');
    await store.put('m/1/model.onnx', 'good bytes');
    const backend = store.backend();
    await syncModels([{ modelId: 'm', backend }], options());
    // rewrite the object behind s3rver's back: it keeps serving the old ETag (MD5) with the new bytes
    await store.put('m/1/model.onnx', 'next bytes');
    const objectFile = join(s3.directory, 'models-bucket', 'corrupt', 'm', '1', 'model.onnx._S3rver_object');
    await writeFile(objectFile, 'evil bytes');
    const r = await syncModels([{ modelId: 'm', backend }], options());
    expect(r.failed).toHaveLength(1);
    const err = r.failed[0]?.error;
    expect(err?.code).toBe('BG_CHECKSUM_MISMATCH');
    expect(err?.message).toContain('s3://models-bucket/corrupt/m/1/model.onnx');
    expect(err?.message).toMatch(/expected md5:[0-9a-f]{32}, got md5:[0-9a-f]{32}/);
    expect(await readFile(join(modelsDir, 'm', '1', 'model.onnx'), 'utf8')).toBe('good bytes');
    await backend.close();
  });
});

describe('unsafe keys', () => {
  it('rejects traversal keys from Cloud Storage and writes nothing outside the models dir', async () => {
    const store = await gcsStore(gcs, 'models-bucket', 'evil');
    await store.put('bad/1/../../../escaped.txt', 'owned');
    await store.put('bad/1/model.onnx', 'fine');
    await store.put('slashes//etc/passwd', 'owned');
    await store.put('good/1/model.onnx', 'fine');
    const backend = store.backend();
    const r = await syncModels(['bad', 'slashes', 'good'].map((modelId) => ({ modelId, backend })), options());
    expect(r.failed.map((f) => [f.modelId, f.error?.code])).toEqual([
      ['bad', 'BG_UNSAFE_KEY'],
      ['slashes', 'BG_UNSAFE_KEY'],
    ]);
    expect(r.failed[0]?.error?.message).toContain('1/../../../escaped.txt');
    expect(await readdir(root)).toEqual(['models']);
    expect((await readdir(modelsDir)).sort()).toEqual(['.manifests', 'good']);
    expect(await readTree(join(modelsDir, 'good'))).toEqual(encodeTree({ '1/model.onnx': 'fine' }));
  });

  it('rejects backslashes, encoded dots and control characters in S3 keys', async () => {
    const store = await s3Store(s3, 'models-bucket', 'evil');
    for (const key of ['a/1/..\\..\\x', 'b/1/%2e%2e/x', 'c/1/line\nbreak']) await store.put(key, 'owned');
    const backend = store.backend();
    const r = await syncModels(['a', 'b', 'c'].map((modelId) => ({ modelId, backend })), options());
    expect(r.failed.map((f) => f.error?.code)).toEqual(['BG_UNSAFE_KEY', 'BG_UNSAFE_KEY', 'BG_UNSAFE_KEY']);
    expect(existsSync(modelsDir) ? await readdir(modelsDir) : []).toEqual([]);
    await backend.close();
  });
});

describe('S3 reads', () => {
  it('read the same bytes through the SDK client when direct reads are off', async () => {
    const store = await s3Store(s3, 'models-bucket', 'sdk');
    const body = randomBytes(300_000);
    await store.put('m/1/model.onnx', body);
    await store.put('m/1/big.bin', body);
    const backend = createS3Backend({ bucket: 'models-bucket', prefix: 'sdk', settings: s3SettingsFromEnv(s3Env(s3)), directReads: false });
    const r = await syncModels([{ modelId: 'm', backend }], options({ rangeThreshold: 100_000, rangeSize: 64 * 1024 }));
    expect(r.failed).toEqual([]);
    expect(await readFile(join(modelsDir, 'm', '1', 'model.onnx'))).toEqual(body);
    expect(await readFile(join(modelsDir, 'm', '1', 'big.bin'))).toEqual(body);
    await backend.close();
  });
});

describe('access', () => {
  it('reports wrong S3 credentials with the service error', async () => {
    const store = await s3Store(s3, 'models-bucket', 'creds');
    await store.put('m/1/a', 'x');
    const backend = createBackend(parseSourceUri(store.uri), {
      s3: s3SettingsFromEnv({ ...s3Env(s3), AWS_ACCESS_KEY_ID: 'NOT-S3RVER' }),
      gcs: {},
    });
    const r = await syncModels([{ modelId: 'm', backend }], options());
    expect(r.failed[0]?.error?.code).toBe('BG_DOWNLOAD_FAILED');
    expect(r.failed[0]?.error?.message).toMatch(/s3:\/\/models-bucket\/creds.*InvalidAccessKeyId/);
    await backend.close();
  });

  it('reports a missing bucket', async () => {
    const backend = createBackend(parseSourceUri('s3://no-such-bucket/models'), { s3: s3SettingsFromEnv(s3Env(s3)), gcs: {} });
    const r = await syncModels([{ modelId: 'm', backend }], options());
    expect(r.failed[0]?.error?.message).toMatch(/s3:\/\/no-such-bucket\/models.*NoSuchBucket/);
    await backend.close();
  });

  it('reports a missing local source directory', async () => {
    const backend = createBackend(parseSourceUri(`file://${join(root, 'nowhere')}`), { s3: { region: 'x', forcePathStyle: true }, gcs: {} });
    const r = await syncModels([{ modelId: 'm', backend }], options());
    expect(r.failed[0]?.error?.message).toMatch(/nowhere is not a directory/);
  });
});

describe('interrupted swaps', () => {
  it('repairs a version left missing between the two renames of a swap', async () => {
    const store = await s3Store(s3, 'models-bucket', 'swap');
    await store.put('m/1/model.onnx', 'v1');
    const backend = store.backend();
    await syncModels([{ modelId: 'm', backend }], options());
    // what a SIGKILL after "rename old → trash" leaves: the journal, the trash, no version dir
    const staging = join(modelsDir, '.staging', 'm');
    const trash = join(staging, 'trash.dead');
    await rm(join(staging), { recursive: true, force: true });
    await import('node:fs/promises').then(async (fs) => {
      await fs.mkdir(dirname(trash), { recursive: true });
      await fs.rename(join(modelsDir, 'm', '1'), trash);
      await fs.writeFile(join(staging, 'swap-dead.json'), JSON.stringify({ target: join(modelsDir, 'm', '1'), staged: join(staging, 'gone'), trash }));
    });
    expect(existsSync(join(modelsDir, 'm', '1'))).toBe(false);
    const r = await syncModels([{ modelId: 'm', backend }], options());
    expect(r.failed).toEqual([]);
    // restored from the trash, so nothing had to be downloaded again
    expect(r.fetched).toBe(0);
    expect(await readFile(join(modelsDir, 'm', '1', 'model.onnx'), 'utf8')).toBe('v1');
    await backend.close();
  });
});
