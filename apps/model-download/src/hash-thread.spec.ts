import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HashThread, threadHashes } from './hash-thread';

describe('HashThread', () => {
  let dir: string;
  let thread: HashThread;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hash-thread-'));
    thread = new HashThread();
  });
  afterAll(async () => {
    await thread.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes a file fed in ranges, in order, as node:crypto hashes the bytes', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const path = join(dir, 'ranges.bin');
    await writeFile(path, data);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('md5' as const, 'sha1' as const, 'sha256' as const),
        fc.uniqueArray(fc.integer({ min: 1, max: data.length - 1 }), { maxLength: 6 }),
        async (algorithm, cuts) => {
          const bounds = [0, ...[...cuts].sort((a, b) => a - b), data.length];
          const h = thread.begin(algorithm);
          // every range is requested before the first answer: the thread keeps them in order
          await Promise.all(bounds.slice(1).map((end, i) => h.update(path, bounds[i] as number, end - (bounds[i] as number))));
          const expected = createHash(algorithm).update(data).digest(algorithm === 'md5' ? 'hex' : 'base64');
          expect(await h.digest()).toBe(expected);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('keeps concurrent hashes apart', async () => {
    const a = join(dir, 'a.bin');
    const b = join(dir, 'b.bin');
    await writeFile(a, 'first file');
    await writeFile(b, 'second file');
    const [ha, hb] = await Promise.all([thread.hashFile(a, 'md5', 10), thread.hashFile(b, 'md5', 11)]);
    expect(ha).toBe(createHash('md5').update('first file').digest('hex'));
    expect(hb).toBe(createHash('md5').update('second file').digest('hex'));
  });

  it('fails a missing or short file, and every later request of that hash', async () => {
    await expect(thread.hashFile(join(dir, 'missing.bin'), 'md5', 4)).rejects.toThrow(/ENOENT/);
    const short = join(dir, 'short.bin');
    await writeFile(short, 'abc');
    const h = thread.begin('sha256');
    await expect(h.update(short, 0, 10)).rejects.toThrow(/ended at 3, expected 10 bytes/);
    await expect(h.digest()).rejects.toThrow(/earlier read/);
    // the thread itself still answers
    expect(await thread.hashFile(short, 'md5', 3)).toBe(createHash('md5').update('abc').digest('hex'));
  });

  it('knows which algorithms it computes', () => {
    expect(['md5', 'sha1', 'sha256', 'crc32c', 'crc64nvme', 's3-multipart-etag'].filter(threadHashes)).toEqual(['md5', 'sha1', 'sha256']);
  });
});
