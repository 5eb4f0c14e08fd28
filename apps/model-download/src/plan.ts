import { bgError } from '@bundlegate/service-kit';
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';
import { pickChecksum, type ObjectChecksums } from './checksum';
import { keySegments } from './key-safety';
import type { Manifest, ManifestEntry } from './manifest';
import { MODEL_ENC_SUFFIX } from '@bundlegate/model-crypto';
import type { RemoteObject } from './storage';

/** A regular file found under `<models>/<id>`. */
export interface LocalFile {
  readonly size: number;
  readonly mtimeMs: number;
}

export interface LocalModel {
  /** Regular files by path relative to the model dir. */
  readonly files: ReadonlyMap<string, LocalFile>;
  /** Top-level entries: version directories and root files (or anything else found there). */
  readonly top: ReadonlyMap<string, 'dir' | 'file' | 'other'>;
}

/** Why a file is fetched, kept or checked. */
export type PlanReason = 'new' | 'changed' | 'local-changed' | 'not-comparable' | 'unchanged' | 'unrecorded';

export interface PlannedFile {
  /** Path relative to the model dir (the `.enc` suffix dropped for decrypted files). */
  readonly localPath: string;
  /** The object, its key relative to the model's prefix. */
  readonly remote: RemoteObject;
  readonly decrypt: boolean;
  /** keep: the local copy is current; fetch: download; check: hash the local copy to decide. */
  readonly action: 'keep' | 'fetch' | 'check';
  readonly reason: PlanReason;
  /** What told an unchanged file apart (`md5`, `crc32c`, `etag`, `size+mtime`…). */
  readonly comparedBy?: string;
  readonly entry?: ManifestEntry;
}

/** A first-level directory (`<id>/<version>/`), installed as a whole by one rename. */
export interface VersionPlan {
  readonly name: string;
  readonly existsLocally: boolean;
  readonly files: readonly PlannedFile[];
  /** Local files in this version that the source does not have. */
  readonly extras: readonly string[];
}

export interface ModelPlan {
  readonly modelId: string;
  readonly versions: readonly VersionPlan[];
  /** Files directly under `<id>/` (Triton's config.pbtxt), each replaced by its own rename. */
  readonly rootFiles: readonly PlannedFile[];
  readonly rootExtras: readonly string[];
  /** Local version directories the source no longer has. */
  readonly staleVersions: readonly string[];
}

const COMPARABLE: readonly Exclude<keyof ObjectChecksums, 'partSize'>[] = ['md5', 'crc32c', 'sha256', 'crc32', 'crc64nvme', 'sha1', 'multipartEtag'];

/**
 * Whether the object recorded in the manifest is the listed one: sizes, then the first checksum both
 * carry, then the ETag/generation, then (file:// sources) the modification time. `undefined` when
 * nothing beyond the size can be compared — never treated as a match.
 */
export function sameObject(recorded: ManifestEntry, listed: RemoteObject): { same: boolean; by: string } | undefined {
  if (recorded.size !== listed.size) return { same: false, by: 'size' };
  for (const kind of COMPARABLE) {
    const a = recorded.checksums[kind];
    const b = listed.checksums[kind];
    if (a !== undefined && b !== undefined) return { same: a.toLowerCase() === b.toLowerCase(), by: kind === 'multipartEtag' ? 'multipart-etag' : kind };
  }
  if (recorded.etag !== undefined && listed.etag !== undefined) return { same: recorded.etag === listed.etag, by: 'etag' };
  if (recorded.mtimeMs !== undefined && listed.mtimeMs !== undefined) return { same: recorded.mtimeMs === listed.mtimeMs, by: 'size+mtime' };
  return undefined;
}

function planFile(remote: RemoteObject, localPath: string, decrypt: boolean, manifest: Manifest | undefined, local: LocalModel): PlannedFile {
  const base = { localPath, remote, decrypt };
  const onDisk = local.files.get(localPath);
  const entry = manifest?.files[localPath];
  if (onDisk === undefined) return { ...base, action: 'fetch', reason: entry ? 'local-changed' : 'new' };
  if (entry !== undefined && entry.key === remote.key) {
    const cmp = sameObject(entry, remote);
    if (cmp === undefined) return { ...base, action: 'fetch', reason: 'not-comparable' };
    if (!cmp.same) return { ...base, action: 'fetch', reason: 'changed' };
    if (onDisk.size !== entry.local.size || onDisk.mtimeMs !== entry.local.mtimeMs) return { ...base, action: 'fetch', reason: 'local-changed' };
    return { ...base, action: 'keep', reason: 'unchanged', comparedBy: cmp.by, entry };
  }
  // a file we did not record (an earlier rclone copy, or a run killed before its manifest write): hash it if that can prove it current
  if (!decrypt && onDisk.size === remote.size && pickChecksum(remote.checksums) !== undefined) {
    return { ...base, action: 'check', reason: 'unrecorded' };
  }
  return { ...base, action: 'fetch', reason: entry ? 'changed' : 'unrecorded' };
}

/**
 * Decides, for one model, what to keep, fetch and remove. Throws BG_UNSAFE_KEY for keys that could
 * escape the model dir and BG_DOWNLOAD_FAILED for sources that cannot be laid out (`x` and `x.enc` both
 * present; a name that is both a file and a version directory).
 */
export function planModel(input: {
  modelId: string;
  source: string;
  remote: readonly RemoteObject[];
  manifest: Manifest | undefined;
  local: LocalModel;
}): ModelPlan {
  const { modelId, source, manifest, local } = input;
  const conflict = (reason: string) => bgError('BG_DOWNLOAD_FAILED', { source, modelId, reason });
  const byLocal = new Map<string, PlannedFile>();
  for (const remote of input.remote) {
    keySegments(remote.key);
    const decrypt = remote.key.endsWith(MODEL_ENC_SUFFIX);
    const localPath = decrypt ? remote.key.slice(0, -MODEL_ENC_SUFFIX.length) : remote.key;
    keySegments(localPath);
    const clash = byLocal.get(localPath);
    if (clash) throw conflict(`objects ${clash.remote.key} and ${remote.key} would both become ${localPath}`);
    byLocal.set(localPath, planFile(remote, localPath, decrypt, manifest, local));
  }

  const versions = new Map<string, PlannedFile[]>();
  const rootFiles: PlannedFile[] = [];
  for (const f of byLocal.values()) {
    const slash = f.localPath.indexOf('/');
    if (slash < 0) rootFiles.push(f);
    else {
      const name = f.localPath.slice(0, slash);
      const list = versions.get(name) ?? [];
      list.push(f);
      versions.set(name, list);
    }
  }
  for (const f of rootFiles) {
    if (versions.has(f.localPath)) throw conflict(`${f.remote.key} is both a file and a directory in the source`);
  }

  const versionPlans: VersionPlan[] = [...versions.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, files]) => {
      const wanted = new Set(files.map((f) => f.localPath));
      const extras = [...local.files.keys()].filter((p) => p.startsWith(`${name}/`) && !wanted.has(p)).sort();
      return { name, existsLocally: local.top.get(name) === 'dir', files, extras };
    });
  const rootNames = new Set(rootFiles.map((f) => f.localPath));
  const rootExtras = [...local.top.entries()]
    .filter(([name, kind]) => kind !== 'dir' && !rootNames.has(name) && !versions.has(name))
    .map(([name]) => name)
    .sort();
  const staleVersions = [...local.top.entries()]
    .filter(([name, kind]) => kind === 'dir' && !versions.has(name))
    .map(([name]) => name)
    .sort();
  return { modelId, versions: versionPlans, rootFiles, rootExtras, staleVersions };
}

/** A version needs a new directory when it is missing, a file changed, or pruning drops local extras. */
export function versionNeedsInstall(v: VersionPlan, prune: boolean): boolean {
  return !v.existsLocally || v.files.some((f) => f.action !== 'keep') || (prune && v.extras.length > 0);
}

/** Lists `<models>/<id>` without following symlinks; a missing directory is an empty model. */
export async function scanLocalModel(modelDir: string): Promise<LocalModel> {
  const files = new Map<string, LocalFile>();
  const top = new Map<string, 'dir' | 'file' | 'other'>();
  async function walk(dir: string, rel: string): Promise<void> {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw err;
    }
    for await (const e of handle) {
      const relPath = rel === '' ? e.name : `${rel}/${e.name}`;
      const kind = e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
      if (rel === '') top.set(e.name, kind);
      if (kind === 'dir') await walk(join(dir, e.name), relPath);
      else if (kind === 'file') {
        const s = await lstat(join(dir, e.name));
        files.set(relPath, { size: s.size, mtimeMs: s.mtimeMs });
      } else if (rel !== '') {
        // symlinks and the like inside a version are never served from here: count them as extras
        files.set(relPath, { size: -1, mtimeMs: -1 });
      }
    }
  }
  await walk(modelDir, '');
  return { files, top };
}
