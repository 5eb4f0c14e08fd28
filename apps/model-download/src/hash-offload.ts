import { Worker } from 'node:worker_threads';
import { createHasher as createLocalHasher, type ExpectedChecksum, type Hasher } from './checksum';
import type { RangeHasher } from './receiver';

// MD5 and SHA hashing on separate threads, so the main thread only handles sockets and writes: one
// event loop cannot hash 1 GB and serve eight connections faster than one core. The worker is a few lines
// of plain JS on node:crypto (no bundle to load), and gets bytes in 1 MiB batches.

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { openSync, readSync, closeSync } = require('node:fs');
const states = new Map();
const state = (m) => {
  let s = states.get(m.id);
  if (!s) { s = { hash: createHash(m.alg), error: undefined }; states.set(m.id, s); }
  return s;
};
parentPort.on('message', (m) => {
  const s = state(m);
  try {
    if (m.t === 'u') {
      if (!s.error) for (const c of m.chunks) s.hash.update(c);
      return;
    }
    if (m.t === 'f') {
      const fd = openSync(m.path, 'r');
      try {
        const buf = Buffer.allocUnsafe(1 << 20);
        let pos = m.start;
        const end = m.start + m.length;
        while (pos < end) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
          if (n === 0) throw new Error(m.path + ' ended at ' + pos + ', expected ' + end + ' bytes');
          s.hash.update(buf.subarray(0, n));
          pos += n;
        }
      } finally { closeSync(fd); }
      parentPort.postMessage({ r: m.r });
      return;
    }
    states.delete(m.id);
    if (s.error) throw s.error;
    parentPort.postMessage({ r: m.r, digest: s.hash.digest(m.enc) });
  } catch (e) {
    if (m.t === 'u') { s.error = e; return; }
    states.delete(m.id);
    parentPort.postMessage({ r: m.r, error: String((e && e.message) || e) });
  }
});
`;

const OFFLOADED = { md5: 'hex', sha1: 'base64', sha256: 'base64' } as const;
type Offloaded = keyof typeof OFFLOADED;
const BATCH = 1024 * 1024;

/** A pool of hashing threads; algorithms it does not take (CRCs, multipart ETags) stay local. */
export class HashOffload {
  private readonly workers: Worker[];
  private readonly replies = new Map<number, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  private nextState = 1;
  private nextReply = 1;
  private turn = 0;

  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      w.on('message', (m: { r: number; digest?: string; error?: string }) => {
        const p = this.replies.get(m.r);
        if (!p) return;
        this.replies.delete(m.r);
        if (m.error !== undefined) p.reject(new Error(m.error));
        else p.resolve(m.digest ?? '');
      });
      w.on('error', (err) => {
        for (const p of this.replies.values()) p.reject(err);
        this.replies.clear();
      });
      return w;
    });
  }

  private pick(): Worker {
    this.turn = (this.turn + 1) % this.workers.length;
    return this.workers[this.turn] as Worker;
  }

  private ask(worker: Worker, message: Record<string, unknown>): Promise<string> {
    const r = this.nextReply++;
    return new Promise((resolve, reject) => {
      this.replies.set(r, { resolve, reject });
      worker.postMessage({ ...message, r });
    });
  }

  /** A streaming hasher whose work happens on a hashing thread (a local one for other algorithms). */
  hasher(spec: Pick<ExpectedChecksum, 'algorithm' | 'partSize'>): Hasher {
    if (!(spec.algorithm in OFFLOADED)) return createLocalHasher(spec);
    const alg = spec.algorithm as Offloaded;
    const worker = this.pick();
    const id = this.nextState++;
    let batch: Buffer[] = [];
    let batched = 0;
    const flush = () => {
      if (batch.length === 0) return;
      // structured clone copies the bytes, so the caller may reuse or drop its buffers at once
      worker.postMessage({ t: 'u', id, alg, chunks: batch });
      batch = [];
      batched = 0;
    };
    return {
      update(chunk: Uint8Array) {
        batch.push(chunk as Buffer);
        batched += chunk.length;
        if (batched >= BATCH) flush();
      },
      digest: () => {
        flush();
        return this.ask(worker, { t: 'd', id, alg, enc: OFFLOADED[alg] });
      },
    };
  }

  /** Hashes a ranged download's file in order on a hashing thread, which reads the ranges back itself. */
  fileHasher(path: string, spec: Pick<ExpectedChecksum, 'algorithm' | 'partSize'>): RangeHasher | undefined {
    if (!(spec.algorithm in OFFLOADED)) return undefined;
    const alg = spec.algorithm as Offloaded;
    const worker = this.pick();
    const id = this.nextState++;
    return {
      update: async (start, length) => {
        await this.ask(worker, { t: 'f', id, alg, path, start, length });
      },
      digest: () => this.ask(worker, { t: 'd', id, alg, enc: OFFLOADED[alg] }),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
