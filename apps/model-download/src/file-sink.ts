import { closeSync, fstatSync, openSync, writevSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Hasher } from './checksum';

/** Bytes gathered before one writev: socket chunks are small, and each write call has a fixed cost. */
export const WRITE_BUFFER = 1024 * 1024;

/**
 * Writes a download to disk with synchronous writev calls on the event loop, `flushAt` bytes at a time.
 * A write stream costs several thread-pool round trips per file and a wake-up per write; on a busy
 * machine those hand-offs, not the copying, dominated. A job has no requests waiting on its loop, and
 * page-cache writes of a megabyte take well under a millisecond.
 */
export class FileSink {
  private readonly fd: number;
  private chunks: Buffer[] = [];
  private pending = 0;
  private position: number;

  constructor(
    path: string,
    flags: 'w' | 'r+',
    start: number,
    private readonly flushAt: number,
  ) {
    this.fd = openSync(path, flags);
    this.position = start;
  }

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.pending += chunk.length;
    if (this.pending >= this.flushAt) this.flush();
  }

  flush(): void {
    let buffers = this.chunks;
    let left = this.pending;
    this.chunks = [];
    this.pending = 0;
    while (left > 0) {
      const n = writevSync(this.fd, buffers, this.position);
      this.position += n;
      left -= n;
      if (left > 0) buffers = dropBytes(buffers, n);
    }
  }

  /** Flushes and closes; returns the file's size and mtime for the manifest. */
  finish(): { size: number; mtimeMs: number } {
    try {
      this.flush();
      const st = fstatSync(this.fd);
      return { size: st.size, mtimeMs: st.mtimeMs };
    } finally {
      closeSync(this.fd);
    }
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** The buffers left after the first `n` bytes were written (a short writev). */
function dropBytes(buffers: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of buffers) {
    if (n >= b.length) n -= b.length;
    else {
      out.push(n > 0 ? b.subarray(n) : b);
      n = 0;
    }
  }
  return out;
}

/**
 * Streams one response into a sink: hashes and counts each chunk as it arrives, fails on a body longer
 * than expected (no unbounded memory), and resolves with the byte count at the end.
 */
export function receive(stream: Readable, sink: FileSink, want: number, hasher: Hasher | undefined, onBytes: (n: number) => void): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > want) {
        stream.destroy(new Error(`got more than the expected ${want} bytes`));
        return;
      }
      try {
        hasher?.update(chunk);
        sink.push(chunk);
      } catch (err) {
        stream.destroy(err as Error);
        return;
      }
      onBytes(chunk.length);
    });
    stream.once('end', () => resolve(bytes));
    stream.once('error', reject);
  });
}
