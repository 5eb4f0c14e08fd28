import { bgError } from '@bundlegate/service-kit';
import { createReadStream } from 'node:fs';
import { copyFile, opendir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { safeJoin } from './key-safety';
import type { ByteRange, ReadResult, RemoteObject, StorageBackend } from './storage';

/**
 * A local directory as a source (`file:///dir`, the default for `npm start`). It has no stored
 * checksums: changes are detected by size and modification time, and the sync says so.
 */
export function createFileBackend(root: string): StorageBackend {
  const base = resolve(root);
  const uri = `file://${base}`;

  async function* walk(dir: string, rel: string): AsyncGenerator<RemoteObject> {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && rel !== '') return;
      throw bgError('BG_DOWNLOAD_FAILED', { source: uri, reason: `cannot read ${dir}: ${(err as Error).message}` }, { cause: err });
    }
    const entries = [];
    for await (const e of handle) entries.push(e);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const key = rel === '' ? e.name : `${rel}/${e.name}`;
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        yield* walk(full, key);
      } else if (e.isFile() || e.isSymbolicLink()) {
        // symlinked files count; symlinked directories are not followed (no loops)
        const s = await stat(full).catch(() => undefined);
        if (s?.isFile()) yield { key, size: s.size, checksums: {}, mtimeMs: Math.trunc(s.mtimeMs) };
      }
    }
  }

  return {
    uri,
    async *list(prefix: string) {
      const s = await stat(base).catch(() => undefined);
      if (!s?.isDirectory()) throw bgError('BG_DOWNLOAD_FAILED', { source: uri, reason: `${base} is not a directory` });
      const trimmed = prefix.replace(/\/+$/, '');
      yield* walk(trimmed === '' ? base : safeJoin(base, trimmed), trimmed);
    },
    async read(key: string, range?: ByteRange): Promise<ReadResult> {
      const path = safeJoin(base, key);
      const stream = createReadStream(path, range ? { start: range.start, end: range.end } : {});
      await new Promise<void>((ok, fail) => {
        stream.once('open', () => ok());
        stream.once('error', fail);
      });
      return { stream };
    },
    async copyTo(key: string, destination: string) {
      await copyFile(safeJoin(base, key), destination);
    },
    async close() {},
  };
}
