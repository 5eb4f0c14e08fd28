import type { Storage as GcsStorage, StorageOptions } from '@google-cloud/storage';
import { bgError } from '@bundlegate/service-kit';
import { base64ToHex } from './checksum';
import { normalizePrefix, type ByteRange, type ReadResult, type RemoteObject, type StorageBackend } from './storage';

export interface GcsBackendOptions {
  readonly bucket: string;
  readonly prefix: string;
  /** Service-account JSON (`creds/bundle/gcs.json` or GOOGLE_APPLICATION_CREDENTIALS); undefined: application default credentials, then anonymous. */
  readonly keyFilename?: string;
  /** STORAGE_EMULATOR_HOST or another endpoint; requests to it are not authenticated. */
  readonly apiEndpoint?: string;
  readonly projectId?: string;
}

const PAGE_SIZE = 1000;

function gcsFailure(uri: string, what: string, err: unknown) {
  const e = err as { code?: number | string; message?: string };
  const reason = `${what}: ${e.message ?? String(err)}${typeof e.code === 'number' ? ` [HTTP ${e.code}]` : ''}`;
  return bgError('BG_DOWNLOAD_FAILED', { source: uri, reason }, { cause: err });
}

const NO_DEFAULT_CREDENTIALS = /Could not load the default credentials/i;

export function createGcsBackend(opts: GcsBackendOptions): StorageBackend {
  const prefix = normalizePrefix(opts.prefix);
  const uri = `gs://${opts.bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
  let storage: Promise<GcsStorage> | undefined;
  let anonymous = false;

  // loaded on first use: the GCS client is large and S3/file runs never need it
  async function make(anon: boolean): Promise<GcsStorage> {
    const { Storage } = await import('@google-cloud/storage');
    const options: StorageOptions = {
      ...(opts.projectId !== undefined ? { projectId: opts.projectId } : {}),
      ...(opts.apiEndpoint !== undefined ? { apiEndpoint: opts.apiEndpoint } : {}),
      ...(opts.keyFilename !== undefined ? { keyFilename: opts.keyFilename } : {}),
      retryOptions: { autoRetry: true, maxRetries: 3 },
    };
    if (anon) {
      const { PassThroughClient } = await import('google-auth-library');
      options.authClient = new PassThroughClient();
    }
    return new Storage(options);
  }
  const client = () => (storage ??= make(false));

  const bucket = async () => (await client()).bucket(opts.bucket);

  async function listPage(sub: string, pageToken: string | undefined) {
    const b = await bucket();
    const [files, next] = await b.getFiles({ prefix: prefix + sub, autoPaginate: false, maxResults: PAGE_SIZE, ...(pageToken ? { pageToken } : {}) });
    return { files, next: (next as { pageToken?: string } | null)?.pageToken };
  }

  return {
    uri,
    async *list(sub: string) {
      let token: string | undefined;
      do {
        let page;
        try {
          page = await listPage(sub, token);
        } catch (err) {
          // public buckets need no credentials: without any configured, retry anonymously
          if (!anonymous && opts.keyFilename === undefined && NO_DEFAULT_CREDENTIALS.test((err as Error).message ?? '')) {
            anonymous = true;
            storage = make(true);
            page = await listPage(sub, token).catch((e2: unknown) => {
              throw gcsFailure(uri, `cannot list ${prefix + sub} (anonymously: no credentials found)`, e2);
            });
          } else {
            throw gcsFailure(uri, `cannot list ${prefix + sub}`, err);
          }
        }
        for (const f of page.files) {
          const name = f.name;
          if (!name.startsWith(prefix)) continue;
          const size = Number(f.metadata.size ?? 0);
          if (name.endsWith('/') && size === 0) continue;
          const md5 = typeof f.metadata.md5Hash === 'string' ? base64ToHex(f.metadata.md5Hash) : undefined;
          const crc32c = typeof f.metadata.crc32c === 'string' ? f.metadata.crc32c : undefined;
          const generation = f.metadata.generation;
          const object: RemoteObject = {
            key: name.slice(prefix.length),
            size,
            // composite objects have no md5Hash, only crc32c
            checksums: { ...(md5 !== undefined ? { md5 } : {}), ...(crc32c !== undefined ? { crc32c } : {}) },
            ...(generation !== undefined ? { etag: String(generation) } : {}),
          };
          yield object;
        }
        token = page.next;
      } while (token !== undefined);
    },

    async read(key: string, range?: ByteRange): Promise<ReadResult> {
      const file = (await bucket()).file(prefix + key);
      // raw stored bytes (no gunzip), no client-side validation: the caller verifies md5/crc32c itself;
      // the request starts when the stream is first read, so failures surface as stream errors
      const stream = file.createReadStream({
        validation: false,
        decompress: false,
        ...(range ? { start: range.start, end: range.end } : {}),
      });
      return { stream };
    },

    async close() {},
  };
}
