import { bgError, isBgError, type BgError, type Logger } from '@bundlegate/service-kit';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  checksumEquals,
  createHasher,
  hashFile,
  pickChecksum,
  type ExpectedChecksum,
  type Hasher,
  type ObjectChecksums,
} from './checksum';
import { createDecryptStream } from '@bundlegate/model-crypto';
import type { TransferPool } from './pool';
import { createRangeHasher, receiveRange, receiveWhole } from './receiver';
import { WRITE_BUFFER } from './file-sink';
import { threadHashes, type HashThread } from './hash-thread';
import type { RemoteObject, StorageBackend } from './storage';

export interface TransferOptions {
  readonly backend: StorageBackend;
  readonly pool: TransferPool;
  /** Objects at least this large (and not decrypted) are fetched as parallel ranges. */
  readonly rangeThreshold: number;
  readonly rangeSize: number;
  /** Extra attempts after a failed or mismatching download. */
  readonly retries: number;
  readonly logger: Logger;
  /** Prefix the object keys are relative to (the model's `<id>/`), for reads and messages. */
  readonly keyPrefix: string;
  readonly modelId: string;
  readonly onBytes?: (n: number) => void;
  /** Milliseconds before the first retry; doubles each time. */
  readonly retryDelayMs?: number;
  /** Directories created or being created in this run, so each is made once even when its files start together. */
  readonly dirs?: Map<string, Promise<unknown>>;
  /** Where MD5 / SHA checksums are computed, off the event loop; without it they are computed while streaming. */
  readonly hashThread?: HashThread;
}

/** How a downloaded file was checked. */
export type VerifiedBy = ExpectedChecksum['algorithm'] | 'aes-gcm-tag' | 'none';

export interface TransferResult {
  readonly verifiedBy: VerifiedBy;
  /** The listed checksums plus any learned while downloading (HEAD `x-amz-checksum-*`, part size). */
  readonly checksums: ObjectChecksums;
  /** Why nothing could be compared, when `verifiedBy` is `none`. */
  readonly unverifiedReason?: string;
  /** The written file's size and mtime, when the transfer already knows them. */
  readonly local?: { readonly size: number; readonly mtimeMs: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Counts, hashes and reports bytes as they arrive; a 'data' listener costs less per chunk than a Transform in the pipe. */
class Tap {
  bytes = 0;
  constructor(
    private readonly hasher: Hasher | undefined,
    private readonly onBytes: ((n: number) => void) | undefined,
  ) {}
  attach(stream: Readable): Readable {
    stream.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      this.hasher?.update(chunk);
      this.onBytes?.(chunk.length);
    });
    return stream;
  }
}

/**
 * Downloads one object to `dest` (a path inside a staging directory) and checks it: the cheapest
 * checksum the source publishes is computed while streaming; a mismatch, a short read or a network
 * failure is retried, then reported. `.enc` objects are decrypted on the way (the checksum covers the
 * ciphertext; the GCM tag the plaintext). Objects without any comparable checksum are size-checked
 * and reported as unverified, never silently passed.
 */
export async function fetchObject(opts: TransferOptions, object: RemoteObject, dest: string, decryptKey?: Buffer): Promise<TransferResult> {
  const log = opts.logger;
  const where = `${opts.backend.uri}/${opts.keyPrefix}${object.key}`;
  let checksums = object.checksums;
  let expected = pickChecksum(checksums);
  if (expected === undefined && opts.backend.resolveChecksums) {
    checksums = { ...checksums, ...(await opts.backend.resolveChecksums({ ...object, key: opts.keyPrefix + object.key })) };
    expected = pickChecksum(checksums);
  }
  const dir = dirname(dest);
  let made = opts.dirs?.get(dir);
  if (made === undefined) {
    made = mkdir(dir, { recursive: true });
    opts.dirs?.set(dir, made);
    // a failed mkdir fails the files waiting on it, and is forgotten so a retry makes it again
    made.catch(() => opts.dirs?.delete(dir));
  }
  await made;

  let lastError: BgError | undefined;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (attempt > 0) await sleep((opts.retryDelayMs ?? 250) * 2 ** (attempt - 1));
    let counted = 0;
    const onBytes = (n: number) => {
      counted += n;
      opts.onBytes?.(n);
    };
    try {
      const got = await attemptOnce(opts, object, dest, expected, onBytes, decryptKey, where);
      if (got.md5Unreliable !== undefined && expected?.algorithm === 'md5') {
        return await verifyWithoutMd5(opts, object, dest, checksums, got.md5Unreliable, decryptKey !== undefined, where);
      }
      if (expected !== undefined && got.actual !== undefined && !checksumEquals(expected, got.actual)) {
        throw bgError('BG_CHECKSUM_MISMATCH', { file: where, expected: `${expected.algorithm}:${expected.value}`, got: `${expected.algorithm}:${got.actual}` });
      }
      const local = got.local ? { local: got.local } : {};
      if (expected !== undefined) return { verifiedBy: expected.algorithm, checksums, ...local };
      if (decryptKey !== undefined) return { verifiedBy: 'aes-gcm-tag', checksums, ...local };
      return { verifiedBy: 'none', checksums, unverifiedReason: unverifiableReason(checksums), ...local };
    } catch (err) {
      opts.onBytes?.(-counted);
      await rm(dest, { force: true });
      // a wrong key or an unsafe key does not get better by trying again
      if (isBgError(err) && (err.code === 'BG_DECRYPTION_FAILED' || err.code === 'BG_UNSAFE_KEY')) throw err;
      lastError = isBgError(err)
        ? err
        : bgError('BG_DOWNLOAD_FAILED', { source: opts.backend.uri, modelId: opts.modelId, reason: `${opts.keyPrefix}${object.key}: ${(err as Error).message}` }, { cause: err });
      if (attempt < opts.retries) {
        log.warn({ object: where, attempt: attempt + 1, err: lastError.toJSON() }, 'download failed; retrying');
      }
    }
  }
  throw lastError as BgError;
}

function unverifiableReason(c: ObjectChecksums): string {
  if (c.multipartEtag !== undefined) {
    return 'multipart S3 object: its ETag is not an MD5, the service gave no full-object checksum and no part size to recompute the ETag';
  }
  return 'the source publishes no checksum for it';
}

/** SSE-KMS / SSE-C objects: the listed ETag is not an MD5; use another published checksum, or say it cannot be checked. */
async function verifyWithoutMd5(
  opts: TransferOptions,
  object: RemoteObject,
  dest: string,
  listed: ObjectChecksums,
  why: string,
  decrypted: boolean,
  where: string,
): Promise<TransferResult> {
  const { md5: _notMd5, ...rest } = listed;
  const extra = opts.backend.resolveChecksums ? await opts.backend.resolveChecksums({ ...object, key: opts.keyPrefix + object.key }) : {};
  const checksums = { ...rest, ...extra, md5: undefined };
  const alt = pickChecksum({ ...rest, ...extra });
  if (alt !== undefined && !decrypted) {
    const actual = await hashFile(dest, alt);
    if (!checksumEquals(alt, actual)) {
      throw bgError('BG_CHECKSUM_MISMATCH', { file: where, expected: `${alt.algorithm}:${alt.value}`, got: `${alt.algorithm}:${actual}` });
    }
    return { verifiedBy: alt.algorithm, checksums };
  }
  if (decrypted) return { verifiedBy: 'aes-gcm-tag', checksums };
  return { verifiedBy: 'none', checksums, unverifiedReason: why };
}

interface Attempt {
  readonly actual?: string;
  readonly md5Unreliable?: string;
  readonly local?: { readonly size: number; readonly mtimeMs: number };
}

async function attemptOnce(
  opts: TransferOptions,
  object: RemoteObject,
  dest: string,
  expected: ExpectedChecksum | undefined,
  onBytes: (n: number) => void,
  decryptKey: Buffer | undefined,
  where: string,
): Promise<Attempt> {
  const key = opts.keyPrefix + object.key;
  if (decryptKey === undefined && expected === undefined && opts.backend.copyTo) {
    await opts.pool.run(() => opts.backend.copyTo?.(key, dest) ?? Promise.resolve(), object.size);
    onBytes(object.size);
    return {};
  }
  if (decryptKey !== undefined) {
    return opts.pool.run(() => streamDecrypted(opts, key, object.size, dest, expected, onBytes, decryptKey, where), object.size);
  }
  if (object.size < opts.rangeThreshold || object.size <= opts.rangeSize) {
    const algorithm = expected?.algorithm;
    if (opts.hashThread !== undefined && algorithm !== undefined && threadHashes(algorithm)) {
      // the file is hashed from the page cache on the thread, after its transfer slot went to the next object
      const got = await opts.pool.run(() => fetchWhole(opts, key, object.size, dest, undefined, onBytes), object.size);
      return { ...got, actual: await opts.hashThread.hashFile(dest, algorithm, object.size) };
    }
    return opts.pool.run(() => fetchWhole(opts, key, object.size, dest, expected, onBytes), object.size);
  }
  return fetchRanges(opts, key, object.size, dest, expected, onBytes, where);
}

async function fetchWhole(
  opts: TransferOptions,
  key: string,
  size: number,
  dest: string,
  expected: ExpectedChecksum | undefined,
  onBytes: (n: number) => void,
): Promise<Attempt> {
  let got;
  try {
    got = await receiveWhole(
      opts.backend,
      { key, size, dest, ...(expected ? { hash: { algorithm: expected.algorithm, ...(expected.partSize !== undefined ? { partSize: expected.partSize } : {}) } } : {}) },
      onBytes,
    );
  } catch (err) {
    throw isBgError(err) ? err : transferFailure(opts, key, err);
  }
  if (got.bytes !== size) throw transferFailure(opts, key, new Error(`got ${got.bytes} of ${size} bytes`));
  return { local: got.local, ...(got.actual !== undefined ? { actual: got.actual } : {}), ...(got.md5Unreliable ? { md5Unreliable: got.md5Unreliable } : {}) };
}

/** `.enc` objects: hash the ciphertext as it arrives, decrypt in a stream, plaintext to the file. */
async function streamDecrypted(
  opts: TransferOptions,
  key: string,
  size: number,
  dest: string,
  expected: ExpectedChecksum | undefined,
  onBytes: (n: number) => void,
  decryptKey: Buffer,
  where: string,
): Promise<Attempt> {
  const hasher = expected ? createHasher(expected) : undefined;
  const { stream, md5Unreliable } = await opts.backend.read(key);
  const tap = new Tap(hasher, onBytes);
  try {
    await pipeline(tap.attach(stream), createDecryptStream(decryptKey, where), createWriteStream(dest, { highWaterMark: WRITE_BUFFER }));
  } catch (err) {
    // a corrupted download also fails the GCM tag: report the checksum, which a retry can fix
    if (isBgError(err) && err.code === 'BG_DECRYPTION_FAILED' && hasher && tap.bytes === size && expected) {
      const actual = await hasher.digest();
      if (!checksumEquals(expected, actual)) return { actual, ...(md5Unreliable ? { md5Unreliable } : {}) };
    }
    throw isBgError(err) ? err : transferFailure(opts, key, err);
  }
  if (tap.bytes !== size) throw transferFailure(opts, key, new Error(`got ${tap.bytes} of ${size} bytes`));
  return { ...(hasher ? { actual: await hasher.digest() } : {}), ...(md5Unreliable ? { md5Unreliable } : {}) };
}

function transferFailure(opts: TransferOptions, key: string, err: unknown): BgError {
  return bgError(
    'BG_DOWNLOAD_FAILED',
    { source: opts.backend.uri, modelId: opts.modelId, reason: `${key}: ${(err as Error)?.message ?? String(err)}` },
    { cause: err },
  );
}

/**
 * Large objects: ranges fetched in parallel through the shared pool, each written at its offset;
 * the hash follows behind, reading each range back (from the page cache) once every range before it
 * is on disk, so memory stays flat whatever the object size.
 */
async function fetchRanges(
  opts: TransferOptions,
  key: string,
  size: number,
  dest: string,
  expected: ExpectedChecksum | undefined,
  onBytes: (n: number) => void,
  where: string,
): Promise<Attempt> {
  const file = await open(dest, 'w');
  try {
    await file.truncate(size);
  } finally {
    await file.close();
  }
  const ranges: { start: number; end: number }[] = [];
  for (let start = 0; start < size; start += opts.rangeSize) ranges.push({ start, end: Math.min(size, start + opts.rangeSize) - 1 });

  const hasher = expected
    ? createRangeHasher(dest, { algorithm: expected.algorithm, ...(expected.partSize !== undefined ? { partSize: expected.partSize } : {}) }, opts.hashThread)
    : undefined;
  const done = ranges.map(() => false);
  let hashed = 0;
  let hashing: Promise<void> = Promise.resolve();
  let failed = false;
  let md5Unreliable: string | undefined;
  const advance = () => {
    if (!hasher) return;
    hashing = hashing.then(async () => {
      while (!failed && hashed < ranges.length && done[hashed]) {
        const r = ranges[hashed] as { start: number; end: number };
        await hasher.update(r.start, r.end - r.start + 1);
        hashed++;
      }
    });
  };

  const results = await Promise.allSettled(
    ranges.map((r, i) =>
      opts.pool.run(async () => {
        if (failed) throw new Error('cancelled');
        try {
          const got = await fetchRange(opts, key, r, dest, onBytes, where);
          if (got !== undefined) md5Unreliable = got;
          done[i] = true;
          advance();
        } catch (err) {
          failed = true;
          throw err;
        }
      }, size),
    ),
  );
  const firstFailure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected' && (r.reason as Error)?.message !== 'cancelled');
  if (firstFailure) {
    await hashing.catch(() => undefined);
    await hasher?.discard();
    throw isBgError(firstFailure.reason) ? firstFailure.reason : transferFailure(opts, key, firstFailure.reason);
  }
  try {
    await hashing;
  } catch (err) {
    await hasher?.discard();
    throw transferFailure(opts, key, err);
  }
  return { ...(hasher ? { actual: await hasher.digest() } : {}), ...(md5Unreliable ? { md5Unreliable } : {}) };
}

/** One range, retried on its own so a dropped connection costs one range, not the object. */
async function fetchRange(
  opts: TransferOptions,
  key: string,
  r: { start: number; end: number },
  dest: string,
  onBytes: (n: number) => void,
  where: string,
): Promise<string | undefined> {
  const want = r.end - r.start + 1;
  let last: unknown;
  for (let attempt = 0; attempt <= opts.retries; attempt++) {
    if (attempt > 0) await sleep((opts.retryDelayMs ?? 250) * 2 ** (attempt - 1));
    let counted = 0;
    const count = (n: number) => {
      counted += n;
      onBytes(n);
    };
    try {
      const got = await receiveRange(opts.backend, { key, start: r.start, end: r.end, dest }, count);
      if (got.bytes !== want) throw new Error(`range ${r.start}-${r.end}: got ${got.bytes} of ${want} bytes`);
      return got.md5Unreliable;
    } catch (err) {
      onBytes(-counted);
      last = err;
      if (attempt < opts.retries) opts.logger.warn({ object: where, range: `${r.start}-${r.end}`, err: (err as Error).message }, 'range failed; retrying');
    }
  }
  throw isBgError(last) ? last : transferFailure(opts, key, last);
}
