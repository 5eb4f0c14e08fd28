import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  S3Client,
  S3ServiceException,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { bgError } from '@bundlegate/service-kit';
import type { Readable } from 'node:stream';
import { createDirectGetter, S3HttpError } from './s3-direct-get';
import { checksumsFromS3Etag, multipartEtagParts, type ObjectChecksums } from './checksum';
import { normalizePrefix, type ByteRange, type ReadResult, type RemoteObject, type StorageBackend } from './storage';

/** How to reach an S3 or S3-compatible endpoint. */
export interface S3Settings {
  readonly region: string;
  /** Custom endpoint (MinIO, Ceph, R2, s3rver…); undefined for AWS. */
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  /** Static keys; undefined leaves the SDK's default chain (profiles, web identity, instance roles). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

type Env = Readonly<Record<string, string | undefined>>;

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

function parseBool(v: string | undefined): boolean | undefined {
  if (v === undefined) return undefined;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  return undefined;
}

/**
 * S3 settings from the variables deployments set: `AWS_*` first, then rclone's `RCLONE_S3_*`
 * (`PROVIDER`, `ACCESS_KEY_ID`, `SECRET_ACCESS_KEY`, `SESSION_TOKEN`, `ENDPOINT`, `REGION`,
 * `FORCE_PATH_STYLE`). Path style defaults to on for custom endpoints and non-AWS providers, as rclone does.
 */
export function s3SettingsFromEnv(env: Env, overrides: { endpoint?: string; region?: string; pathStyle?: boolean } = {}): S3Settings {
  const accessKeyId = nonEmpty(env['AWS_ACCESS_KEY_ID']) ?? nonEmpty(env['RCLONE_S3_ACCESS_KEY_ID']);
  const secretAccessKey = nonEmpty(env['AWS_SECRET_ACCESS_KEY']) ?? nonEmpty(env['RCLONE_S3_SECRET_ACCESS_KEY']);
  const sessionToken = nonEmpty(env['AWS_SESSION_TOKEN']) ?? nonEmpty(env['RCLONE_S3_SESSION_TOKEN']);
  let endpoint =
    nonEmpty(overrides.endpoint) ??
    nonEmpty(env['AWS_ENDPOINT_URL_S3']) ??
    nonEmpty(env['AWS_ENDPOINT_URL']) ??
    nonEmpty(env['RCLONE_S3_ENDPOINT']);
  // rclone accepts a bare host for its endpoint
  if (endpoint !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) endpoint = `https://${endpoint}`;
  const region =
    nonEmpty(overrides.region) ??
    nonEmpty(env['AWS_REGION']) ??
    nonEmpty(env['AWS_DEFAULT_REGION']) ??
    nonEmpty(env['RCLONE_S3_REGION']) ??
    'us-east-1';
  const provider = nonEmpty(env['RCLONE_S3_PROVIDER']);
  const pathStyle =
    overrides.pathStyle ??
    parseBool(nonEmpty(env['RCLONE_S3_FORCE_PATH_STYLE'])) ??
    (endpoint !== undefined || (provider !== undefined && provider.toLowerCase() !== 'aws'));
  return {
    region,
    ...(endpoint !== undefined ? { endpoint } : {}),
    forcePathStyle: pathStyle,
    ...(accessKeyId !== undefined && secretAccessKey !== undefined
      ? { credentials: { accessKeyId, secretAccessKey, ...(sessionToken !== undefined ? { sessionToken } : {}) } }
      : {}),
  };
}

export interface S3BackendOptions {
  readonly bucket: string;
  readonly prefix: string;
  readonly settings: S3Settings;
  /** Parallel connections the client may open (default 64). */
  readonly maxSockets?: number;
  /**
   * GetObject as a bare signed HTTP request (default on): same signer and credentials as the SDK, a
   * fraction of its CPU per request. Redirects and region errors fall back to the SDK client.
   */
  readonly directReads?: boolean;
}

/** Turns SDK failures into the registry's error naming the source and the service's own code. */
function s3Failure(uri: string, what: string, err: unknown) {
  const reason =
    err instanceof S3ServiceException
      ? `${what}: ${err.name}${err.message && err.message !== err.name && err.message !== 'UnknownError' ? ` (${err.message})` : ''}${err.$metadata.httpStatusCode ? ` [HTTP ${err.$metadata.httpStatusCode}]` : ''}`
      : `${what}: ${err instanceof Error ? err.message : String(err)}`;
  return bgError('BG_DOWNLOAD_FAILED', { source: uri, reason }, { cause: err });
}

function fullObjectChecksums(head: HeadObjectCommandOutput): ObjectChecksums {
  // COMPOSITE values are checksums of part checksums ("…-N"): not recomputed here
  if (head.ChecksumType !== 'FULL_OBJECT') return {};
  return {
    ...(head.ChecksumCRC32C ? { crc32c: head.ChecksumCRC32C } : {}),
    ...(head.ChecksumCRC32 ? { crc32: head.ChecksumCRC32 } : {}),
    ...(head.ChecksumCRC64NVME ? { crc64nvme: head.ChecksumCRC64NVME } : {}),
    ...(head.ChecksumSHA256 ? { sha256: head.ChecksumSHA256 } : {}),
    ...(head.ChecksumSHA1 ? { sha1: head.ChecksumSHA1 } : {}),
  };
}

export function createS3Backend(opts: S3BackendOptions): StorageBackend {
  const prefix = normalizePrefix(opts.prefix);
  const uri = `s3://${opts.bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
  const client = new S3Client({
    region: opts.settings.region,
    ...(opts.settings.endpoint !== undefined ? { endpoint: opts.settings.endpoint } : {}),
    forcePathStyle: opts.settings.forcePathStyle,
    ...(opts.settings.credentials !== undefined ? { credentials: opts.settings.credentials } : {}),
    // we verify every object ourselves (and ranged reads carry no checksum): skip the SDK's own pass
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: { keepAlive: true, maxSockets: opts.maxSockets ?? 64 }, httpsAgent: { keepAlive: true, maxSockets: opts.maxSockets ?? 64 } },
  });

  const direct =
    opts.directReads === false
      ? undefined
      : createDirectGetter({
          bucket: opts.bucket,
          region: opts.settings.region,
          ...(opts.settings.endpoint !== undefined ? { endpoint: opts.settings.endpoint } : {}),
          forcePathStyle: opts.settings.forcePathStyle,
          credentials: () => client.config.credentials(),
          maxSockets: opts.maxSockets ?? 64,
        });
  let useDirect = direct !== undefined;

  const kmsNote = (sse: string | undefined, ssec: string | undefined) =>
    sse === 'aws:kms' || sse === 'aws:kms:dsse' || ssec !== undefined
      ? { md5Unreliable: `the object is encrypted with ${ssec !== undefined ? 'SSE-C' : sse}, so its ETag is not an MD5` }
      : {};

  return {
    uri,
    async *list(sub: string) {
      let token: string | undefined;
      do {
        let page;
        try {
          // recursive listing by prefix, no delimiter: cheaper for deep trees and exact on every S3 implementation
          page = await client.send(
            new ListObjectsV2Command({ Bucket: opts.bucket, Prefix: prefix + sub, ContinuationToken: token }),
          );
        } catch (err) {
          throw s3Failure(uri, `cannot list ${prefix + sub}`, err);
        }
        for (const o of page.Contents ?? []) {
          if (o.Key === undefined || !o.Key.startsWith(prefix)) continue;
          // "folder" placeholder objects made by consoles
          if (o.Key.endsWith('/') && (o.Size ?? 0) === 0) continue;
          const etag = o.ETag?.replace(/"/g, '');
          yield {
            key: o.Key.slice(prefix.length),
            size: o.Size ?? 0,
            checksums: checksumsFromS3Etag(o.ETag),
            ...(etag ? { etag } : {}),
          };
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
    },

    async read(key: string, range?: ByteRange): Promise<ReadResult> {
      if (useDirect && direct !== undefined) {
        try {
          const got = await direct.get(prefix + key, range);
          return { stream: got.body, ...kmsNote(got.serverSideEncryption, got.sseCustomerAlgorithm) };
        } catch (err) {
          // redirects and region or addressing complaints: let the SDK's endpoint logic handle this bucket from now on
          if (err instanceof S3HttpError && (err.status === 301 || err.status === 307 || err.status === 400)) {
            useDirect = false;
          } else if (err instanceof S3HttpError) {
            throw bgError('BG_DOWNLOAD_FAILED', {
              source: uri,
              reason: `cannot read ${prefix + key}: ${err.code}${err.message ? ` (${err.message})` : ''} [HTTP ${err.status}]`,
            });
          } else {
            throw s3Failure(uri, `cannot read ${prefix + key}`, err);
          }
        }
      }
      let out;
      try {
        out = await client.send(
          new GetObjectCommand({
            Bucket: opts.bucket,
            Key: prefix + key,
            ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
          }),
        );
      } catch (err) {
        throw s3Failure(uri, `cannot read ${prefix + key}`, err);
      }
      return { stream: out.Body as Readable, ...kmsNote(out.ServerSideEncryption, out.SSECustomerAlgorithm) };
    },

    async resolveChecksums(object: RemoteObject): Promise<ObjectChecksums> {
      const Key = prefix + object.key;
      let head;
      try {
        head = await client.send(new HeadObjectCommand({ Bucket: opts.bucket, Key, ChecksumMode: 'ENABLED' }));
      } catch (err) {
        throw s3Failure(uri, `cannot read the checksums of ${Key}`, err);
      }
      const full = fullObjectChecksums(head);
      const etag = object.checksums.multipartEtag;
      if (etag === undefined) return full;
      // the part size makes the multipart ETag recomputable; services without part HEADs return the whole object
      const parts = multipartEtagParts(etag);
      try {
        const part1 = await client.send(new HeadObjectCommand({ Bucket: opts.bucket, Key, PartNumber: 1 }));
        const partSize = part1.ContentLength;
        if (partSize !== undefined && partSize < object.size && Math.ceil(object.size / partSize) === parts) {
          return { ...full, partSize };
        }
      } catch {
        // no part metadata: fall through to the full-object checksums alone
      }
      return full;
    },

    async close() {
      direct?.close();
      client.destroy();
    },
  };
}
