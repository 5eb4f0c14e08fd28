import { Worker } from 'node:worker_threads';

/**
 * MD5 / SHA checksums of downloaded files, computed on one worker thread that reads the files back
 * (they were just written and sit in the page cache). The event loop that receives every transfer
 * stays free: hashing a 64 MiB range on it stalls all sockets for ~100 ms, during which the source
 * stops sending. Only paths and offsets cross threads, never the bytes, so memory stays flat.
 */
export type ThreadAlgorithm = 'md5' | 'sha1' | 'sha256';

const ENCODING: Record<ThreadAlgorithm, 'hex' | 'base64'> = { md5: 'hex', sha1: 'base64', sha256: 'base64' };

export function threadHashes(algorithm: string): algorithm is ThreadAlgorithm {
  return algorithm in ENCODING;
}

/** A running hash held in the thread, fed file ranges in order. */
export interface ThreadHash {
  update(path: string, start: number, length: number): Promise<void>;
  digest(): Promise<string>;
  /** Frees the hash without a result (an abandoned transfer). */
  discard(): Promise<void>;
}

// The thread's code: plain CommonJS on node built-ins, so it runs the same from the bundle and from the
// TypeScript sources under test. Requests run in arrival order; each names its running hash by id.
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const hashes = new Map();
const buf = Buffer.allocUnsafe(1024 * 1024);
parentPort.on('message', (m) => {
  if (m.op === 'discard') {
    hashes.delete(m.id);
    parentPort.postMessage({ seq: m.seq });
    return;
  }
  try {
    let h = hashes.get(m.id);
    if (h === null) throw new Error('an earlier read of this file failed');
    if (h === undefined) {
      h = createHash(m.algorithm);
      hashes.set(m.id, h);
    }
    if (m.op === 'update') {
      const fd = openSync(m.path, 'r');
      try {
        let pos = m.start;
        const end = m.start + m.length;
        while (pos < end) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
          if (n === 0) throw new Error(m.path + ' ended at ' + pos + ', expected ' + end + ' bytes');
          h.update(buf.subarray(0, n));
          pos += n;
        }
      } finally {
        closeSync(fd);
      }
      parentPort.postMessage({ seq: m.seq });
    } else {
      hashes.delete(m.id);
      parentPort.postMessage({ seq: m.seq, value: h.digest(m.encoding) });
    }
  } catch (err) {
    // later requests for this hash fail too, rather than hash from a fresh start
    if (m.op === 'update') hashes.set(m.id, null);
    else hashes.delete(m.id);
    parentPort.postMessage({ seq: m.seq, error: err && err.message ? err.message : String(err) });
  }
});
`;

interface Reply {
  readonly seq: number;
  readonly value?: string;
  readonly error?: string;
}

export class HashThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { ok: (v: string | undefined) => void; fail: (e: Error) => void }>();
  private seq = 0;
  private nextId = 0;
  private failure: Error | undefined;

  /** The thread starts with the first request: a run with nothing to fetch does not pay for it. */
  private thread(): Worker {
    if (this.worker !== undefined) return this.worker;
    const worker = new Worker(THREAD_SOURCE, { eval: true });
    // the thread keeps the process alive only while it owes an answer
    worker.unref();
    worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.seq);
      if (p === undefined) return;
      this.pending.delete(r.seq);
      if (this.pending.size === 0) worker.unref();
      if (r.error !== undefined) p.fail(new Error(r.error));
      else p.ok(r.value);
    });
    const failAll = (err: Error) => {
      this.failure = err;
      for (const p of this.pending.values()) p.fail(err);
      this.pending.clear();
    };
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`hash thread exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Starts a running hash in the thread. */
  begin(algorithm: ThreadAlgorithm): ThreadHash {
    const id = this.nextId++;
    return {
      update: async (path, start, length) => {
        await this.request({ op: 'update', id, algorithm, path, start, length });
      },
      digest: async () => (await this.request({ op: 'digest', id, algorithm, encoding: ENCODING[algorithm] })) as string,
      discard: async () => {
        await this.request({ op: 'discard', id, algorithm });
      },
    };
  }

  /** The checksum of the first `length` bytes of a file. */
  async hashFile(path: string, algorithm: ThreadAlgorithm, length: number): Promise<string> {
    const h = this.begin(algorithm);
    await h.update(path, 0, length);
    return h.digest();
  }

  async close(): Promise<void> {
    await this.worker?.terminate();
  }

  private request(message: Record<string, unknown>): Promise<string | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.seq++;
    const worker = this.thread();
    return new Promise((ok, fail) => {
      if (this.pending.size === 0) worker.ref();
      this.pending.set(seq, { ok, fail });
      worker.postMessage({ ...message, seq });
    });
  }
}
