import { bgError } from '@bundlegate/service-kit';
import { createCipheriv, createDecipheriv, randomBytes, type DecipherGCM } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

// Encrypted model files (DESIGN.md): ASCII "BGENC1" ‖ 12-byte IV ‖ AES-256-GCM ciphertext ‖ 16-byte tag.
// Self-contained (node:crypto + the error registry) so it can move into a shared lib for the CLI.

export const MODEL_ENC_MAGIC = Buffer.from('BGENC1', 'ascii');
export const MODEL_ENC_SUFFIX = '.enc';
export const MODEL_ENC_IV_BYTES = 12;
export const MODEL_ENC_TAG_BYTES = 16;
export const MODEL_KEY_BYTES = 32;
const HEADER_BYTES = MODEL_ENC_MAGIC.length + MODEL_ENC_IV_BYTES;

/** Bytes an encrypted file adds to its plaintext. */
export const MODEL_ENC_OVERHEAD = HEADER_BYTES + MODEL_ENC_TAG_BYTES;

/** A key as stored in `creds/bundle/model.key` or MODEL_DECRYPTION_KEY: 32 bytes, base64 (surrounding whitespace ignored). */
export function parseModelKey(text: string, from: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || key.length !== MODEL_KEY_BYTES) {
    throw bgError('BG_DECRYPTION_FAILED', {
      file: from,
      reason: `the key must be ${MODEL_KEY_BYTES} bytes in base64 (got ${key.length} bytes)`,
    });
  }
  return key;
}

export async function readModelKeyFile(path: string): Promise<Buffer> {
  return parseModelKey(await readFile(path, 'utf8'), path);
}

/** A fresh random key in the stored form. */
export function generateModelKey(): string {
  return randomBytes(MODEL_KEY_BYTES).toString('base64');
}

/** Plaintext → encrypted file bytes, streaming. */
export function createEncryptStream(key: Buffer): Transform {
  const iv = randomBytes(MODEL_ENC_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  let headerSent = false;
  const sendHeader = (t: Transform) => {
    if (!headerSent) t.push(Buffer.concat([MODEL_ENC_MAGIC, iv]));
    headerSent = true;
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      sendHeader(this);
      done(null, cipher.update(chunk));
    },
    flush(done) {
      sendHeader(this);
      this.push(cipher.final());
      done(null, cipher.getAuthTag());
    },
  });
}

/**
 * Encrypted file bytes → plaintext, streaming. The last 16 bytes (the tag) are held back and checked
 * at the end: a wrong key or altered bytes fail the stream with BG_DECRYPTION_FAILED then, so callers
 * must treat what was written as garbage until the stream finishes.
 */
export function createDecryptStream(key: Buffer, file: string): Transform {
  let header: Buffer | undefined = Buffer.alloc(0);
  let decipher: DecipherGCM | undefined;
  let tail = Buffer.alloc(0);
  const fail = (reason: string) => bgError('BG_DECRYPTION_FAILED', { file, reason });

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (header !== undefined) {
        header = Buffer.concat([header, chunk]);
        if (header.length < HEADER_BYTES) return done();
        if (!header.subarray(0, MODEL_ENC_MAGIC.length).equals(MODEL_ENC_MAGIC)) {
          return done(fail(`not an encrypted model file (no ${MODEL_ENC_MAGIC.toString('ascii')} header)`));
        }
        decipher = createDecipheriv('aes-256-gcm', key, header.subarray(MODEL_ENC_MAGIC.length, HEADER_BYTES));
        chunk = header.subarray(HEADER_BYTES);
        header = undefined;
      }
      const d = decipher as DecipherGCM;
      // hold back the last 16 bytes seen so far: they may be the tag
      if (chunk.length >= MODEL_ENC_TAG_BYTES) {
        if (tail.length > 0) this.push(d.update(tail));
        const body = chunk.subarray(0, chunk.length - MODEL_ENC_TAG_BYTES);
        tail = Buffer.from(chunk.subarray(chunk.length - MODEL_ENC_TAG_BYTES));
        return done(null, body.length > 0 ? d.update(body) : undefined);
      }
      const joined = Buffer.concat([tail, chunk]);
      const cut = Math.max(0, joined.length - MODEL_ENC_TAG_BYTES);
      tail = joined.subarray(cut);
      return done(null, cut > 0 ? d.update(joined.subarray(0, cut)) : undefined);
    },
    flush(done: TransformCallback) {
      if (decipher === undefined || tail.length < MODEL_ENC_TAG_BYTES) return done(fail('the file is truncated'));
      try {
        decipher.setAuthTag(tail);
        done(null, decipher.final());
      } catch {
        done(fail('authentication failed: wrong key, or the file was altered'));
      }
    },
  });
}

/** Encrypts IN to OUT (written beside OUT first, renamed when complete). */
export async function encryptModelFile(key: Buffer, input: string, output: string): Promise<void> {
  const partial = `${output}.partial-${process.pid}`;
  try {
    await pipeline(createReadStream(input), createEncryptStream(key), createWriteStream(partial, { flags: 'wx' }));
    await rename(partial, output);
  } finally {
    await rm(partial, { force: true });
  }
}

/** Decrypts IN to OUT; OUT appears only after the tag verifies. */
export async function decryptModelFile(key: Buffer, input: string, output: string): Promise<void> {
  const partial = `${output}.partial-${process.pid}`;
  try {
    await pipeline(createReadStream(input), createDecryptStream(key, input), createWriteStream(partial, { flags: 'wx' }));
    await rename(partial, output);
  } finally {
    await rm(partial, { force: true });
  }
}
