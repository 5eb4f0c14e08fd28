import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checksumEquals,
  checksumsFromS3Etag,
  createHasher,
  hashFile,
  MultipartEtagHasher,
  multipartEtagParts,
  pickChecksum,
} from './checksum';

// Independent reference: the multipart ETag S3 reports for parts of `partSize` bytes.
function referenceMultipartEtag(data: Buffer, partSize: number): string {
  const parts: Buffer[] = [];
  for (let off = 0; off < data.length; off += partSize) {
    parts.push(createHash('md5').update(data.subarray(off, off + partSize)).digest());
  }
  return `${createHash('md5').update(Buffer.concat(parts)).digest('hex')}-${parts.length}`;
}

describe('hashers', () => {
  it('produce the encodings GCS and S3 publish', async () => {
    const data = Buffer.from('123456789');
    const digest = async (algorithm: Parameters<typeof createHasher>[0]['algorithm']) => {
      const h = createHasher({ algorithm });
      h.update(data.subarray(0, 4));
      h.update(data.subarray(4));
      return h.digest();
    };
    // CRC check values of "123456789": CRC-32C e3069283, CRC-32 cbf43926, CRC-64/NVME ae8b14860a799888
    expect(await digest('crc32c')).toBe(Buffer.from('e3069283', 'hex').toString('base64'));
    expect(await digest('crc32')).toBe(Buffer.from('cbf43926', 'hex').toString('base64'));
    expect(await digest('crc64nvme')).toBe(Buffer.from('ae8b14860a799888', 'hex').toString('base64'));
    expect(await digest('md5')).toBe('25f9e794323b453885f5181f1b624d0b');
    expect(await digest('sha256')).toBe(createHash('sha256').update(data).digest('base64'));
  });

  it('recompute S3 multipart ETags whatever the chunking of the stream', async () => {
    const data = randomBytes(5 * 1024 + 123);
    for (const partSize of [1024, 1000, 5 * 1024 + 123, 8192]) {
      const h = new MultipartEtagHasher(partSize);
      for (let off = 0; off < data.length; off += 777) h.update(data.subarray(off, off + 777));
      expect(await h.digest()).toBe(referenceMultipartEtag(data, partSize));
    }
  });

  it('hash files from disk like the stream does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'md-checksum-'));
    try {
      const data = randomBytes(3 * 1024 * 1024 + 5);
      await writeFile(join(dir, 'f'), data);
      expect(await hashFile(join(dir, 'f'), { algorithm: 'md5' })).toBe(createHash('md5').update(data).digest('hex'));
      expect(await hashFile(join(dir, 'f'), { algorithm: 's3-multipart-etag', partSize: 1024 * 1024 })).toBe(
        referenceMultipartEtag(data, 1024 * 1024),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('S3 ETags', () => {
  it('are an MD5 for single-part objects and an opaque identity for multipart ones', () => {
    expect(checksumsFromS3Etag('"25F9E794323B453885F5181F1B624D0B"')).toEqual({ md5: '25f9e794323b453885f5181f1b624d0b' });
    expect(checksumsFromS3Etag('"d41d8cd98f00b204e9800998ecf8427e-12"')).toEqual({
      multipartEtag: 'd41d8cd98f00b204e9800998ecf8427e-12',
    });
    expect(multipartEtagParts('d41d8cd98f00b204e9800998ecf8427e-12')).toBe(12);
    expect(checksumsFromS3Etag('"not-an-md5"')).toEqual({});
    expect(checksumsFromS3Etag(undefined)).toEqual({});
  });
});

describe('pickChecksum', () => {
  it('prefers the cheapest published checksum and needs a part size for multipart ETags', () => {
    expect(pickChecksum({ md5: 'a', crc32c: 'b' })).toEqual({ algorithm: 'crc32c', value: 'b' });
    expect(pickChecksum({ md5: 'a' })).toEqual({ algorithm: 'md5', value: 'a' });
    expect(pickChecksum({ multipartEtag: 'x-2' })).toBeUndefined();
    expect(pickChecksum({ multipartEtag: 'x-2', partSize: 8 })).toEqual({ algorithm: 's3-multipart-etag', value: 'x-2', partSize: 8 });
    expect(pickChecksum({})).toBeUndefined();
  });

  it('compares hex digests case-insensitively and base64 exactly', () => {
    expect(checksumEquals({ algorithm: 'md5', value: 'ABCD' }, 'abcd')).toBe(true);
    expect(checksumEquals({ algorithm: 'crc32c', value: 'AbC=' }, 'abc=')).toBe(false);
  });
});
