import { createHasher, hashFileRangeSync, type ExpectedChecksum } from './checksum';
import { FileSink, receive } from './file-sink';
import { threadHashes, type HashThread } from './hash-thread';
import type { ByteRange, ReadResult, StorageBackend } from './storage';

export type HashSpec = Pick<ExpectedChecksum, 'algorithm' | 'partSize'>;

export interface WholeJob {
  readonly key: string;
  readonly size: number;
  readonly dest: string;
  readonly hash?: HashSpec;
}

export interface WholeResult {
  readonly bytes: number;
  readonly actual?: string;
  readonly md5Unreliable?: string;
  readonly local: { readonly size: number; readonly mtimeMs: number };
}

export interface RangeJob {
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly dest: string;
}

export interface RangeResult {
  readonly bytes: number;
  readonly md5Unreliable?: string;
}

/** Hashes a ranged download's file in order, range by range, as the ranges land. */
export interface RangeHasher {
  update(start: number, length: number): Promise<void>;
  digest(): Promise<string>;
  discard(): Promise<void>;
}

/** Sends the request and opens the file at the same time; whichever fails, the other is released. */
async function start(backend: StorageBackend, key: string, range: ByteRange | undefined, dest: string, flags: 'w' | 'r+', offset: number): Promise<ReadResult & { sink: FileSink }> {
  const [read, opened] = await Promise.allSettled([backend.read(key, range), FileSink.open(dest, flags, offset)]);
  if (read.status === 'rejected') {
    if (opened.status === 'fulfilled') opened.value.abort();
    throw read.reason;
  }
  if (opened.status === 'rejected') {
    read.value.stream.destroy();
    throw opened.reason;
  }
  return { ...read.value, sink: opened.value };
}

/** Receives a whole object into `job.dest`, hashing it on the way. */
export async function receiveWhole(backend: StorageBackend, job: WholeJob, onBytes: (n: number) => void): Promise<WholeResult> {
  const hasher = job.hash ? createHasher(job.hash) : undefined;
  const { stream, md5Unreliable, sink } = await start(backend, job.key, undefined, job.dest, 'w', 0);
  let bytes: number;
  let local;
  try {
    bytes = await receive(stream, sink, job.size, hasher, onBytes);
    local = sink.finish();
  } catch (err) {
    sink.abort();
    throw err;
  }
  return { bytes, local, ...(hasher ? { actual: await hasher.digest() } : {}), ...(md5Unreliable ? { md5Unreliable } : {}) };
}

/** Receives one range of an object at its offset in `job.dest` (already sized). */
export async function receiveRange(backend: StorageBackend, job: RangeJob, onBytes: (n: number) => void): Promise<RangeResult> {
  const { stream, md5Unreliable, sink } = await start(backend, job.key, { start: job.start, end: job.end }, job.dest, 'r+', job.start);
  try {
    const bytes = await receive(stream, sink, job.end - job.start + 1, undefined, onBytes);
    sink.finish();
    return { bytes, ...(md5Unreliable ? { md5Unreliable } : {}) };
  } catch (err) {
    sink.abort();
    throw err;
  }
}

/**
 * Hashes a ranged download's file in order, reading back each range once it and all before it landed:
 * on the hash thread when there is one and it knows the algorithm, else on the event loop.
 */
export function createRangeHasher(path: string, hash: HashSpec, thread?: HashThread): RangeHasher {
  if (thread !== undefined && threadHashes(hash.algorithm)) {
    const remote = thread.begin(hash.algorithm);
    return {
      update: (start, length) => remote.update(path, start, length),
      digest: () => remote.digest(),
      discard: () => remote.discard(),
    };
  }
  const hasher = createHasher(hash);
  return {
    async update(start, length) {
      hashFileRangeSync(path, hasher, start, length);
    },
    digest: () => hasher.digest(),
    discard: async () => undefined,
  };
}
