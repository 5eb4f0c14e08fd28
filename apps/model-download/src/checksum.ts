import { Crc64NvmeJs } from '@aws-sdk/checksums';
import { crc32, crc32c } from '@node-rs/crc32';
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';

/**
 * Checksums a storage service publishes for an object. Encodings follow the services: `md5` hex (S3
 * single-part ETag; GCS md5Hash converted), CRCs and SHAs base64 big-endian as in GCS `crc32c` and
 * S3 `x-amz-checksum-*` (full-object values only).
 */
export interface ObjectChecksums {
  readonly md5?: string;
  readonly crc32c?: string;
  readonly crc32?: string;
  readonly crc64nvme?: string;
  readonly sha1?: string;
  readonly sha256?: string;
  /** S3 multipart ETag `<hex>-<parts>`: MD5 of the parts' MD5s, comparable only with the part size */
  readonly multipartEtag?: string;
  /** bytes per part of a multipart object (every part but the last) */
  readonly partSize?: number;
}

export type ChecksumAlgorithm = 'crc32c' | 'md5' | 'crc32' | 'sha256' | 'sha1' | 'crc64nvme' | 's3-multipart-etag';

export interface ExpectedChecksum {
  readonly algorithm: ChecksumAlgorithm;
  readonly value: string;
  readonly partSize?: number;
}

/** Cheapest first: SIMD CRC32C, then OpenSSL hashes, then the pure-JS CRC64, then per-part MD5s. */
const PREFERENCE = ['crc32c', 'md5', 'crc32', 'sha256', 'sha1', 'crc64nvme'] as const;

/** The checksum to verify a download against, or undefined when nothing the object publishes can be recomputed. */
export function pickChecksum(c: ObjectChecksums): ExpectedChecksum | undefined {
  for (const algorithm of PREFERENCE) {
    const value = c[algorithm];
    if (value !== undefined) return { algorithm, value };
  }
  if (c.multipartEtag !== undefined && c.partSize !== undefined) {
    return { algorithm: 's3-multipart-etag', value: c.multipartEtag, partSize: c.partSize };
  }
  return undefined;
}

/** Consumes an object's bytes in order and yields the checksum in the service's encoding. */
export interface Hasher {
  update(chunk: Uint8Array): void;
  digest(): Promise<string>;
}

class CrcHasher implements Hasher {
  private state = 0;
  constructor(private readonly fn: (input: Uint8Array, initial?: number) => number) {}
  update(chunk: Uint8Array): void {
    this.state = this.fn(chunk, this.state);
  }
  async digest(): Promise<string> {
    const out = Buffer.alloc(4);
    out.writeUInt32BE(this.state >>> 0);
    return out.toString('base64');
  }
}

class NodeHasher implements Hasher {
  private readonly hash: Hash;
  constructor(
    algorithm: 'md5' | 'sha1' | 'sha256',
    private readonly encoding: 'hex' | 'base64',
  ) {
    this.hash = createHash(algorithm);
  }
  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  async digest(): Promise<string> {
    return this.hash.digest(this.encoding);
  }
}

class Crc64Hasher implements Hasher {
  private readonly crc = new Crc64NvmeJs();
  update(chunk: Uint8Array): void {
    this.crc.update(chunk);
  }
  async digest(): Promise<string> {
    return Buffer.from(await this.crc.digest()).toString('base64');
  }
}

/** S3's multipart ETag: hex MD5 of the concatenated binary MD5s of each part, then `-<part count>`. */
export class MultipartEtagHasher implements Hasher {
  private part = createHash('md5');
  private inPart = 0;
  private readonly digests: Buffer[] = [];
  constructor(private readonly partSize: number) {
    if (!(partSize > 0)) throw new RangeError(`part size must be positive, got ${partSize}`);
  }
  update(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(this.partSize - this.inPart, chunk.length - offset);
      this.part.update(chunk.subarray(offset, offset + take));
      this.inPart += take;
      offset += take;
      if (this.inPart === this.partSize) this.closePart();
    }
  }
  private closePart(): void {
    this.digests.push(this.part.digest());
    this.part = createHash('md5');
    this.inPart = 0;
  }
  async digest(): Promise<string> {
    if (this.inPart > 0 || this.digests.length === 0) this.closePart();
    return `${createHash('md5').update(Buffer.concat(this.digests)).digest('hex')}-${this.digests.length}`;
  }
}

export function createHasher(expected: Pick<ExpectedChecksum, 'algorithm' | 'partSize'>): Hasher {
  switch (expected.algorithm) {
    case 'crc32c':
      return new CrcHasher(crc32c);
    case 'crc32':
      return new CrcHasher(crc32);
    case 'md5':
      return new NodeHasher('md5', 'hex');
    case 'sha1':
      return new NodeHasher('sha1', 'base64');
    case 'sha256':
      return new NodeHasher('sha256', 'base64');
    case 'crc64nvme':
      return new Crc64Hasher();
    case 's3-multipart-etag':
      return new MultipartEtagHasher(expected.partSize ?? 0);
  }
}

/** Compares in the service's encoding (hex MD5s are case-insensitive). */
export function checksumEquals(expected: ExpectedChecksum, actual: string): boolean {
  return expected.algorithm === 'md5' || expected.algorithm === 's3-multipart-etag'
    ? expected.value.toLowerCase() === actual.toLowerCase()
    : expected.value === actual;
}

const READ_CHUNK = 1024 * 1024;

/** Hashes `length` bytes of a file from `start`, reading in 1 MiB chunks. */
export async function hashFileRange(path: string, hasher: Hasher, start = 0, length?: number): Promise<void> {
  const fh = await open(path, 'r');
  try {
    const end = length === undefined ? (await fh.stat()).size : start + length;
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, end - start)));
    let pos = start;
    while (pos < end) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) throw new Error(`${path} ended at ${pos}, expected ${end} bytes`);
      hasher.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** hashFileRange without the thread pool: for the download path, where the bytes were just written and sit in the page cache. */
export function hashFileRangeSync(path: string, hasher: Hasher, start: number, length: number): void {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(1, length)));
    let pos = start;
    const end = start + length;
    while (pos < end) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) throw new Error(`${path} ended at ${pos}, expected ${end} bytes`);
      hasher.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** The checksum of a whole local file in the given algorithm. */
export async function hashFile(path: string, expected: Pick<ExpectedChecksum, 'algorithm' | 'partSize'>): Promise<string> {
  const hasher = createHasher(expected);
  await hashFileRange(path, hasher);
  return hasher.digest();
}

/** `md5Hash` as GCS gives it (base64) → hex, the encoding S3 ETags use. */
export function base64ToHex(b64: string): string {
  return Buffer.from(b64, 'base64').toString('hex');
}

const SINGLE_PART_ETAG = /^[0-9a-f]{32}$/i;
const MULTIPART_ETAG = /^[0-9a-f]{32}-[1-9][0-9]*$/i;

/**
 * What an S3 ETag tells: a single-part upload's ETag is its MD5 (unless SSE-KMS/SSE-C, which the GET
 * response reveals); a multipart ETag `<hex>-<n>` is not an MD5 of the content.
 */
export function checksumsFromS3Etag(rawEtag: string | undefined): ObjectChecksums {
  const etag = rawEtag?.replace(/^W\//, '').replace(/"/g, '');
  if (etag === undefined) return {};
  if (SINGLE_PART_ETAG.test(etag)) return { md5: etag.toLowerCase() };
  if (MULTIPART_ETAG.test(etag)) return { multipartEtag: etag.toLowerCase() };
  return {};
}

/** Number of parts a multipart ETag declares. */
export function multipartEtagParts(etag: string): number {
  return Number(etag.slice(etag.lastIndexOf('-') + 1));
}
