import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every regular file under `dir` → its bytes as hex-free text digest (path → content string). */
export async function readTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(d: string, rel: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), r);
      else if (e.isFile()) out[r] = (await readFile(join(d, e.name))).toString('base64');
    }
  }
  await walk(dir, '');
  return out;
}

/** Same as readTree, for expected contents given as buffers or strings. */
export function encodeTree(files: Record<string, Buffer | string>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([k, v]) => [k, (typeof v === 'string' ? Buffer.from(v) : v).toString('base64')]));
}
