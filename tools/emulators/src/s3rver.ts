import { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnEmulator } from './child-emulator';

/** s3rver accepts any signature but only this access key (anything else is InvalidAccessKeyId). */
export const S3RVER_ACCESS_KEY = 'S3RVER';
export const S3RVER_SECRET_KEY = 'S3RVER';
export const S3RVER_REGION = 'us-east-1';

export interface S3rverHandle {
  readonly port: number;
  /** http://127.0.0.1:<port> */
  readonly endpoint: string;
  /** where s3rver keeps its objects (removed by stop()) */
  readonly directory: string;
  /** A client for uploading fixtures: path-style, checksums only when required (else streamed uploads keep aws-chunked framing). */
  client(): S3Client;
  stop(): Promise<void>;
}

export interface S3rverOptions {
  buckets?: string[];
}

/** Starts s3rver in a child process with --openssl-legacy-provider (its ListObjectsV2 pagination answers 500 otherwise). */
export async function startS3rver(opts: S3rverOptions = {}): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: [process.env['NODE_OPTIONS'] ?? '', '--openssl-legacy-provider'].join(' ').trim(),
    S3RVER_DIRECTORY: directory,
    S3RVER_BUCKETS: (opts.buckets ?? []).join(','),
  };
  const child = await spawnEmulator({ script: join(__dirname, 's3rver-child.cjs'), env, name: 's3rver' }).catch(
    async (err: unknown) => {
      await rm(directory, { recursive: true, force: true });
      throw err;
    },
  );
  const endpoint = `http://127.0.0.1:${child.port}`;
  const clients: S3Client[] = [];
  return {
    port: child.port,
    endpoint,
    directory,
    client() {
      const c = new S3Client({
        endpoint,
        region: S3RVER_REGION,
        forcePathStyle: true,
        credentials: { accessKeyId: S3RVER_ACCESS_KEY, secretAccessKey: S3RVER_SECRET_KEY },
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
      });
      clients.push(c);
      return c;
    },
    async stop() {
      for (const c of clients) c.destroy();
      await child.stop();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
