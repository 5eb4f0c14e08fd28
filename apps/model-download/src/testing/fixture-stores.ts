import { DeleteObjectCommand, PutObjectCommand, CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseSourceUri, type SourceUri } from '@bundlegate/bundle';
import { startGcsEmulator, startS3rver, type GcsEmulatorHandle, type S3rverHandle } from '@bundlegate/emulators';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createBackend } from '../source';
import { s3SettingsFromEnv } from '../storage-s3';
import type { StorageBackend } from '../storage';

/** A real store the tests fill with model files; `backend()` reads it the way model-download does. */
export interface FixtureStore {
  readonly kind: 'file' | 's3' | 'gs';
  /** The `--source` URI. */
  readonly uri: string;
  /** Environment model-download needs to reach it. */
  readonly env: Record<string, string>;
  put(key: string, data: Buffer | string): Promise<void>;
  remove(key: string): Promise<void>;
  backend(): StorageBackend;
  stop(): Promise<void>;
}

export async function fileStore(): Promise<FixtureStore> {
  const dir = await mkdtemp(join(tmpdir(), 'md-src-'));
  const source = parseSourceUri(`file://${dir}`);
  return {
    kind: 'file',
    uri: source.uri,
    env: {},
    async put(key, data) {
      await mkdir(dirname(join(dir, key)), { recursive: true });
      await writeFile(join(dir, key), data);
    },
    async remove(key) {
      await rm(join(dir, key), { force: true });
    },
    backend: () => createBackend(source, { s3: { region: 'us-east-1', forcePathStyle: true }, gcs: {} }),
    stop: () => rm(dir, { recursive: true, force: true }),
  };
}

export const S3_BUCKET = 'models-bucket';

export function s3Env(s3: S3rverHandle): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_ENDPOINT_URL: s3.endpoint, AWS_REGION: 'us-east-1' };
}

export async function s3Store(existing?: S3rverHandle, bucket = S3_BUCKET, prefix = 'bundle'): Promise<FixtureStore & { server: S3rverHandle; client: S3Client }> {
  const server = existing ?? (await startS3rver());
  const client = server.client();
  await client.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: { name?: string }) => {
    if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
  });
  const source: SourceUri = parseSourceUri(`s3://${bucket}/${prefix}`);
  const env = s3Env(server);
  return {
    kind: 's3',
    uri: source.uri,
    env,
    server,
    client,
    async put(key, data) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}`, Body: data }));
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${prefix}/${key}` }));
    },
    backend: () => createBackend(source, { s3: s3SettingsFromEnv(env), gcs: {} }),
    async stop() {
      if (!existing) await server.stop();
    },
  };
}

export async function gcsStore(existing?: GcsEmulatorHandle, bucket = 'models-bucket', prefix = 'bundle'): Promise<FixtureStore & { server: GcsEmulatorHandle }> {
  const server = existing ?? (await startGcsEmulator());
  const source = parseSourceUri(`gs://${bucket}/${prefix}`);
  const { Storage } = await import('@google-cloud/storage');
  const storage = new Storage({ apiEndpoint: server.endpoint, projectId: 'test' });
  return {
    kind: 'gs',
    uri: source.uri,
    env: { STORAGE_EMULATOR_HOST: server.endpoint },
    server,
    async put(key, data) {
      await storage.bucket(bucket).file(`${prefix}/${key}`).save(typeof data === 'string' ? Buffer.from(data) : data, { resumable: false });
    },
    async remove(key) {
      await storage.bucket(bucket).file(`${prefix}/${key}`).delete();
    },
    backend: () => createBackend(source, { s3: { region: 'us-east-1', forcePathStyle: true }, gcs: { apiEndpoint: server.endpoint, projectId: 'test' } }),
    async stop() {
      if (!existing) await server.stop();
    },
  };
}
