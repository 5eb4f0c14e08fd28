import { closeSync, fstatSync, open, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import type { Hasher } from './checksum';
import { isDirectReadable } from './storage';

/** Bytes gathered before one write: socket chunks are small, and each write call has a fixed cost. */
export const WRITE_BUFFER = 1024 * 1024;

/**
 * Bytes per write call. The kernel sizes new page-cache folios by the write: a 1 MiB write asks for
 * large folios from the buddy allocator, 32 KiB ones (order 3) come from the per-CPU lists of recently
 * freed pages. On the VM this was measured on, memory the guest has not touched lately is expensive to
 * fault in: `dd` writing a new 1 GiB file took 1.3–4.0 s of system time with 1 MiB writes, 0.36–0.72 s
 * with 32 KiB ones (64 KiB: 0.7–3.6 s, 16 KiB: 0.7–0.8 s); the benchmark's cold sync went from a median
 * of 6.7 s to 5.1 s (eight runs each, alternating). The extra calls cost ~30k syscalls per GiB.
 */
export const WRITE_CALL = 32 * 1024;

/** Staging buffers of WRITE_BUFFER bytes, reused by every sink of the process. */
const spare: Buffer[] = [];

const openFd = promisify(open);

/**
 * Writes a download to disk with synchronous writes on the event loop, WRITE_BUFFER bytes gathered
 * and written WRITE_CALL bytes per call.
 * Streams that can (`DirectReadable`) have the kernel read the socket straight into the staging buffer.
 * Other streams' chunks are copied into it at once: holding the chunks until a write
 * let V8 promote them (a megabyte takes tens of milliseconds to arrive), and promoted array buffers
 * are freed only by full collections, which then ran every 64 MB of download, about 1 s of CPU per
 * GiB. The copy costs a tenth of that. A write stream costs several thread-pool round trips per file
 * and a wake-up per write; on a busy machine those hand-offs, not the copying, dominated (a job has no
 * requests waiting on its loop). Writes on libuv's threads instead used more CPU and memory, no faster.
 * Opening is the exception, see `open`.
 */
export class FileSink {
  private buffer: Buffer | undefined;
  private used = 0;
  private closed = false;

  private constructor(
    private readonly fd: number,
    private position: number,
  ) {}

  /**
   * Opens the file on libuv's thread pool. Creating a file can stall for a millisecond or more: on a
   * network volume, and on ext4 without a journal, whose inode allocator steps one by one over the
   * inodes freed in the last minute or longer. On the event loop that stall held up every other
   * transfer; measured there, opens were a fifth of the loop's time in a cold sync made just after the
   * previous copy was deleted.
   */
  static async open(path: string, flags: 'w' | 'r+', start: number): Promise<FileSink> {
    return new FileSink(await openFd(path, flags), start);
  }

  /** Free space in the staging buffer, for a socket read straight into it (see `commit`). */
  space(): Buffer {
    this.buffer ??= spare.pop() ?? Buffer.allocUnsafeSlow(WRITE_BUFFER);
    return this.buffer.subarray(this.used);
  }

  /** `n` bytes were read into the start of the last `space()`. */
  commit(n: number): void {
    this.used += n;
    if (this.used === this.buffer?.length) this.flush();
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      this.buffer ??= spare.pop() ?? Buffer.allocUnsafeSlow(WRITE_BUFFER);
      const n = chunk.copy(this.buffer, this.used, offset);
      this.used += n;
      offset += n;
      if (this.used === this.buffer.length) this.flush();
    }
  }

  flush(): void {
    const buffer = this.buffer;
    let done = 0;
    while (buffer !== undefined && done < this.used) {
      const n = writeSync(this.fd, buffer, done, Math.min(WRITE_CALL, this.used - done), this.position);
      this.position += n;
      done += n;
    }
    this.used = 0;
  }

  /** Flushes and closes; returns the file's size and mtime for the manifest. */
  finish(): { size: number; mtimeMs: number } {
    try {
      this.flush();
      const st = fstatSync(this.fd);
      return { size: st.size, mtimeMs: st.mtimeMs };
    } finally {
      this.close();
    }
  }

  abort(): void {
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.buffer !== undefined) spare.push(this.buffer);
    this.buffer = undefined;
    this.used = 0;
    closeSync(this.fd);
  }
}

/**
 * Streams one response into a sink: hashes and counts each chunk as it arrives, fails on a body longer
 * than expected (no unbounded memory), and resolves with the byte count at the end.
 */
export function receive(stream: Readable, sink: FileSink, want: number, hasher: Hasher | undefined, onBytes: (n: number) => void): Promise<number> {
  const taker = new Taker(want, hasher);
  if (isDirectReadable(stream)) {
    // a throw here fails the read: the body's connection is closed and `readInto` rejects with it
    return stream.readInto({
      space: () => sink.space(),
      commit(view) {
        taker.take(view);
        sink.commit(view.length);
        onBytes(view.length);
      },
      push(chunk) {
        taker.take(chunk);
        sink.push(chunk);
        onBytes(chunk.length);
      },
    });
  }
  return new Promise<number>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      try {
        taker.take(chunk);
        sink.push(chunk);
      } catch (err) {
        stream.destroy(err as Error);
        return;
      }
      onBytes(chunk.length);
    });
    stream.once('end', () => resolve(taker.bytes));
    stream.once('error', reject);
  });
}

/** Counts a body's bytes against what was expected (throwing past it) and hashes them. */
class Taker {
  /** Bytes taken so far. */
  bytes = 0;
  constructor(
    private readonly want: number,
    private readonly hasher: Hasher | undefined,
  ) {}

  take(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.bytes > this.want) throw new Error(`got more than the expected ${this.want} bytes`);
    this.hasher?.update(chunk);
  }
}
