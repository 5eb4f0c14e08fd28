import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSink, WRITE_BUFFER } from './file-sink';

describe('FileSink', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'file-sink-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes chunks of any sizes at the start offset, across staging-buffer boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: WRITE_BUFFER + 5000 }), { maxLength: 5 }), fc.integer({ min: 0, max: 4096 }), async (sizes, start) => {
        const path = join(dir, 'sink.bin');
        await writeFile(path, Buffer.alloc(start, 7));
        const chunks = sizes.map((n) => randomBytes(n));
        const sink = await FileSink.open(path, 'r+', start);
        for (const c of chunks) sink.push(c);
        const total = chunks.reduce((a, c) => a + c.length, 0);
        expect(sink.finish().size).toBe(start + total);
        expect(readFileSync(path).equals(Buffer.concat([Buffer.alloc(start, 7), ...chunks]))).toBe(true);
      }),
      { numRuns: 20 },
    );
  });
});
