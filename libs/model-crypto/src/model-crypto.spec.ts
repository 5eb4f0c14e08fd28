import fc from 'fast-check';
import { createCipheriv, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  createDecryptStream,
  createEncryptStream,
  decryptModelFile,
  encryptModelFile,
  generateModelKey,
  MODEL_ENC_MAGIC,
  MODEL_ENC_OVERHEAD,
  parseModelKey,
} from './model-crypto';

/** Feeds `data` in the given chunk sizes (cycling) through a transform. */
async function through(t: NodeJS.ReadWriteStream, data: Buffer, sizes: number[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length] ?? 1);
    chunks.push(data.subarray(off, off + n));
    off += n;
  }
  return buffer(Readable.from(chunks).pipe(t));
}

describe('model file encryption', () => {
  const key = parseModelKey(generateModelKey(), 'test');

  it('writes the DESIGN.md layout, decryptable with plain AES-256-GCM', async () => {
    const plain = Buffer.from('an onnx model, say');
    const enc = await through(createEncryptStream(key), plain, [7]);
    expect(enc.subarray(0, 6)).toEqual(MODEL_ENC_MAGIC);
    expect(enc.length).toBe(plain.length + MODEL_ENC_OVERHEAD);
    const iv = enc.subarray(6, 18);
    const tag = enc.subarray(enc.length - 16);
    // independent check: encrypting with the same IV reproduces the ciphertext and tag
    const c = createCipheriv('aes-256-gcm', key, iv);
    const ct = Buffer.concat([c.update(plain), c.final()]);
    expect(enc.subarray(18, enc.length - 16)).toEqual(ct);
    expect(tag).toEqual(c.getAuthTag());
  });

  it('round-trips whatever the chunk boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 5 }), async (bytes, sizes) => {
        const plain = Buffer.from(bytes);
        const enc = await through(createEncryptStream(key), plain, [50]);
        expect(await through(createDecryptStream(key, 'f.enc'), enc, sizes)).toEqual(plain);
      }),
      { numRuns: 60 },
    );
  });

  it('fails loudly with a wrong key, a flipped bit, a truncation or a foreign file', async () => {
    const plain = randomBytes(1000);
    const enc = await through(createEncryptStream(key), plain, [333]);
    const otherKey = parseModelKey(generateModelKey(), 'other');
    const flipped = Buffer.from(enc);
    flipped[100] = (flipped[100] ?? 0) ^ 1;
    const cases: [Buffer, Buffer, RegExp][] = [
      [otherKey, enc, /authentication failed/],
      [key, flipped, /authentication failed/],
      [key, enc.subarray(0, enc.length - 1), /authentication failed/],
      [key, enc.subarray(0, 20), /truncated/],
      [key, Buffer.from('PK\u0003\u0004 a zip, not ours'), /not an encrypted model file/],
    ];
    for (const [k, bytes, reason] of cases) {
      await expect(through(createDecryptStream(k, 'm.onnx.enc'), bytes, [64])).rejects.toMatchObject({
        code: 'BG_DECRYPTION_FAILED',
        message: expect.stringMatching(reason),
      });
    }
  });

  it('parses stored keys and rejects ones of the wrong size', () => {
    expect(parseModelKey(`  ${Buffer.alloc(32, 7).toString('base64')}\n`, 'model.key')).toEqual(Buffer.alloc(32, 7));
    expect(() => parseModelKey(Buffer.alloc(16).toString('base64'), 'model.key')).toThrow(/32 bytes/);
    expect(() => parseModelKey('not base64 at all!', 'model.key')).toThrow(/32 bytes/);
  });

  it('leaves no output file when decryption fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'md-crypto-'));
    try {
      await writeFile(join(dir, 'plain'), randomBytes(5000));
      await encryptModelFile(key, join(dir, 'plain'), join(dir, 'model.enc'));
      await decryptModelFile(key, join(dir, 'model.enc'), join(dir, 'back'));
      expect(await readFile(join(dir, 'back'))).toEqual(await readFile(join(dir, 'plain')));
      const wrong = parseModelKey(generateModelKey(), 'wrong');
      await expect(decryptModelFile(wrong, join(dir, 'model.enc'), join(dir, 'never'))).rejects.toMatchObject({
        code: 'BG_DECRYPTION_FAILED',
      });
      expect(existsSync(join(dir, 'never'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
