import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

// The OVMS model repository layout: `<base_path>/<version>/model.onnx`, versions being positive integers.

export interface VersionDir {
  readonly version: number;
  readonly dir: string;
  /** The model file to load. */
  readonly file: string;
  /** Size and mtime of the file: a failed load is retried only once this changes (a copy still in progress). */
  readonly stamp: string;
}

export interface RepositoryScan {
  readonly versions: readonly VersionDir[];
  /** Why nothing could be listed (base path missing or unreadable); undefined when the listing worked. */
  readonly problem?: string;
}

/** The file OVMS would load from a version directory: `model.onnx`, else the only `*.onnx` there. */
function pickModelFile(names: readonly string[]): string | undefined {
  if (names.includes('model.onnx')) return 'model.onnx';
  const onnx = names.filter((n) => n.endsWith('.onnx'));
  return onnx.length === 1 ? onnx[0] : undefined;
}

/** Lists the loadable versions under `basePath`, ascending. Directories without a model file are skipped. */
export async function scanRepository(basePath: string): Promise<RepositoryScan> {
  let entries;
  try {
    entries = await readdir(basePath, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { versions: [], problem: code === 'ENOENT' ? `base path ${basePath} does not exist` : `cannot list ${basePath}: ${(err as Error).message}` };
  }
  const found: VersionDir[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || !/^[1-9]\d{0,15}$/.test(entry.name)) continue;
    const version = Number(entry.name);
    if (!Number.isSafeInteger(version)) continue;
    const dir = join(basePath, entry.name);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue; // removed between the two listings
    }
    const fileName = pickModelFile(names);
    if (fileName === undefined) continue;
    const file = join(dir, fileName);
    try {
      const s = await stat(file);
      if (!s.isFile()) continue;
      found.push({ version, dir, file, stamp: `${s.size}:${s.mtimeMs}` });
    } catch {
      continue;
    }
  }
  return { versions: found.sort((a, b) => a.version - b.version) };
}
