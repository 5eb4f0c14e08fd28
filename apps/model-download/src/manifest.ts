import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ChecksumAlgorithm, ObjectChecksums } from './checksum';

/** Directory under the models dir holding one manifest per model. */
export const MANIFEST_DIR = '.manifests';
export const MANIFEST_FORMAT = 1;

/** What one local file was synced from. */
export interface ManifestEntry {
  /** Object key relative to the model's prefix (`1/model.onnx.enc` for a decrypted `1/model.onnx`). */
  readonly key: string;
  readonly size: number;
  readonly checksums: ObjectChecksums;
  readonly etag?: string;
  readonly mtimeMs?: number;
  /** The local file as written: a changed size or mtime means someone touched it. */
  readonly local: { readonly size: number; readonly mtimeMs: number };
  /** How the download was checked: a checksum algorithm, `aes-gcm-tag` (decrypted) or `none` (nothing comparable). */
  readonly verifiedBy: ChecksumAlgorithm | 'aes-gcm-tag' | 'none';
  readonly decrypted?: boolean;
}

export interface Manifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly modelId: string;
  readonly source: string;
  readonly updatedAt: string;
  /** Keyed by local path relative to `<models>/<id>` (`1/model.onnx`, `config.pbtxt`). */
  readonly files: Readonly<Record<string, ManifestEntry>>;
}

export function manifestPath(modelsDir: string, modelId: string): string {
  return join(modelsDir, MANIFEST_DIR, `${modelId}.json`);
}

/** The model's manifest, or undefined when missing or unreadable (then every file is re-checked). */
export async function readManifest(modelsDir: string, modelId: string): Promise<Manifest | undefined> {
  let text;
  try {
    text = await readFile(manifestPath(modelsDir, modelId), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const m = JSON.parse(text) as Partial<Manifest>;
    if (m.format !== MANIFEST_FORMAT || m.modelId !== modelId || typeof m.files !== 'object' || m.files === null) return undefined;
    return m as Manifest;
  } catch {
    return undefined;
  }
}

/** Writes beside the target and renames, so a kill leaves the old or the new manifest, never half of one. */
export async function writeManifest(modelsDir: string, manifest: Manifest): Promise<void> {
  const path = manifestPath(modelsDir, manifest.modelId);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(manifest, null, 1)}\n`);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
