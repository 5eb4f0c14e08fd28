import type { Readable } from 'node:stream';
import type { ObjectChecksums } from './checksum';

/** One object under a source's prefix. */
export interface RemoteObject {
  /** Key relative to the source's prefix, "/"-separated, exactly as stored (checked before use). */
  readonly key: string;
  readonly size: number;
  readonly checksums: ObjectChecksums;
  /** Changes whenever the object is rewritten: S3 ETag, GCS generation. */
  readonly etag?: string;
  /** file:// sources: modification time, the only change signal besides size when there is no checksum. */
  readonly mtimeMs?: number;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** Where a body's bytes go when a backend can read them straight into the receiver's buffers. */
export interface ReadTarget {
  /** Free space for the next socket read; never empty. */
  space(): Buffer;
  /** The next `view.length` bytes of the body, read into the start of the last `space()`. */
  commit(view: Buffer): void;
  /** The next bytes of the body, which arrived elsewhere: to be copied. */
  push(chunk: Buffer): void;
}

/** A read's stream that can also deliver its bytes into a `ReadTarget` (instead of as stream chunks). */
export interface DirectReadable extends Readable {
  readInto(target: ReadTarget): Promise<number>;
}

export function isDirectReadable(stream: Readable): stream is DirectReadable {
  return typeof (stream as Partial<DirectReadable>).readInto === 'function';
}

/** What a read learned about the object beyond its bytes. */
export interface ReadResult {
  readonly stream: Readable;
  /** Set when the response shows the listed MD5 is not one (S3 SSE-KMS/SSE-C single-part ETags). */
  readonly md5Unreliable?: string;
}

/** A bucket or directory holding `<id>/<version>/…` trees. */
export interface StorageBackend {
  /** `s3://bucket/prefix`, for messages. */
  readonly uri: string;
  /** Every object whose key starts with `prefix` (relative to the source), recursively, directory markers left out. */
  list(prefix: string): AsyncIterable<RemoteObject>;
  read(key: string, range?: ByteRange): Promise<ReadResult>;
  /** Checksums the listing does not carry (S3 multipart: `x-amz-checksum-*`, part size); only asked when needed. */
  resolveChecksums?(object: RemoteObject): Promise<ObjectChecksums>;
  /** Copy without streaming through this process (local sources), when no checksum is to be computed. */
  copyTo?(key: string, destination: string): Promise<void>;
  close(): Promise<void>;
}

/** "models" → "models/", "" → "": keys are joined to prefixes with exactly one "/". */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}
