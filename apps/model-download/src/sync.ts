import { bgError, toBgError, type BgError, type Logger } from '@bundlegate/service-kit';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checksumEquals, hashFile, pickChecksum } from './checksum';
import { checkModelId, safeJoin } from './key-safety';
import { readManifest, writeManifest, type Manifest, type ManifestEntry } from './manifest';
import { planModel, scanLocalModel, versionNeedsInstall, type ModelPlan, type PlannedFile } from './plan';
import { HashThread } from './hash-thread';
import { TransferPool } from './pool';
import { silentProgress, type ProgressSink } from './progress';
import { linkOrCopy, ModelStaging } from './staging';
import type { RemoteObject, StorageBackend } from './storage';
import { fetchObject, type TransferOptions } from './transfer';

/** One model to sync: its files are `<backend>/<id>/<version>/…`. */
export interface ModelSource {
  readonly modelId: string;
  readonly backend: StorageBackend;
  /** bundle.yaml `encrypted: true`: a key must be configured even before any `.enc` object is seen. */
  readonly encrypted?: boolean;
  /** bundle.yaml `version`: sync only this version directory (and root files such as config.pbtxt). */
  readonly version?: string;
}

export interface SyncOptions {
  readonly modelsDir: string;
  /** Parallel transfers across all models (whole objects and ranges alike). */
  readonly concurrency: number;
  /** Remove local versions and files the source no longer has (like `rclone sync`). */
  readonly prune?: boolean;
  readonly rangeThreshold?: number;
  readonly rangeSize?: number;
  readonly retries?: number;
  readonly retryDelayMs?: number;
  readonly decryptionKey?: Buffer;
  readonly logger: Logger;
  readonly progress?: ProgressSink;
}

export interface ModelResult {
  readonly modelId: string;
  readonly source: string;
  readonly ok: boolean;
  /** Files downloaded (or copied) and their bytes as stored at the source. */
  readonly fetched: number;
  readonly bytes: number;
  /** Files already current locally. */
  readonly skipped: number;
  readonly removed: number;
  readonly versionsInstalled: readonly string[];
  /** Files kept although nothing but their size could be compared (reported, never silent). */
  readonly unverified: readonly string[];
  readonly error?: BgError;
}

export interface SyncSummary {
  readonly models: readonly ModelResult[];
  readonly fetched: number;
  readonly bytes: number;
  readonly skipped: number;
  readonly removed: number;
  readonly elapsedMs: number;
  readonly mbPerSec: number;
  readonly failed: readonly ModelResult[];
}

// measured on the benchmark tree: 64 MiB ranges beat 16 and 32 MiB (fewer requests, less read-back bookkeeping)
export const DEFAULT_RANGE_THRESHOLD = 128 * 1024 * 1024;
export const DEFAULT_RANGE_SIZE = 64 * 1024 * 1024;

/**
 * Makes `<modelsDir>/<id>/…` match each source: new and changed versions are built in
 * `<modelsDir>/.staging/` and renamed into place only when complete and verified; unchanged files are
 * skipped using the per-model manifest. Models fail independently; the summary lists each outcome.
 */
export async function syncModels(sources: readonly ModelSource[], opts: SyncOptions): Promise<SyncSummary> {
  const started = Date.now();
  const pool = new TransferPool(opts.concurrency);
  await mkdir(opts.modelsDir, { recursive: true });
  const hashThread = new HashThread();
  let results: ModelResult[];
  try {
    results = await Promise.all(sources.map((s) => syncOneModel(s, opts, pool, hashThread)));
  } finally {
    await hashThread.close();
  }
  const elapsedMs = Date.now() - started;
  const sum = (f: (r: ModelResult) => number) => results.reduce((a, r) => a + f(r), 0);
  const bytes = sum((r) => r.bytes);
  return {
    models: results,
    fetched: sum((r) => r.fetched),
    bytes,
    skipped: sum((r) => r.skipped),
    removed: sum((r) => r.removed),
    elapsedMs,
    mbPerSec: Number((bytes / 1e6 / Math.max(0.001, elapsedMs / 1000)).toFixed(1)),
    failed: results.filter((r) => !r.ok),
  };
}

async function syncOneModel(source: ModelSource, opts: SyncOptions, pool: TransferPool, hashThread: HashThread): Promise<ModelResult> {
  const progress = opts.progress ?? silentProgress;
  const log = opts.logger.child({ modelId: source.modelId });
  const counters = { fetched: 0, bytes: 0, skipped: 0, removed: 0, versionsInstalled: [] as string[], unverified: [] as string[] };
  const base = { modelId: source.modelId, source: `${source.backend.uri}/${source.modelId}/` };
  try {
    await runModel(source, opts, pool, hashThread, log, progress, counters);
    progress.modelFinished(source.modelId, true);
    return { ...base, ok: true, ...counters };
  } catch (err) {
    const error = toBgError(err);
    progress.modelFinished(source.modelId, false);
    log.error({ err: error.toJSON(), cause: (error.cause as Error | undefined)?.message }, `model ${source.modelId} failed`);
    return { ...base, ok: false, ...counters, error };
  }
}

async function runModel(
  source: ModelSource,
  opts: SyncOptions,
  pool: TransferPool,
  hashThread: HashThread,
  log: Logger,
  progress: ProgressSink,
  counters: { fetched: number; bytes: number; skipped: number; removed: number; versionsInstalled: string[]; unverified: string[] },
): Promise<void> {
  const modelId = checkModelId(source.modelId);
  const { backend } = source;
  const modelDir = join(opts.modelsDir, modelId);
  const sourceUri = `${backend.uri}/${modelId}/`;
  const staging = new ModelStaging(opts.modelsDir, modelId);
  const repaired = await staging.recover();
  if (repaired.length > 0) log.warn({ repaired }, 'finished the version swaps an interrupted run left');

  const keyPrefix = `${modelId}/`;
  const remote: RemoteObject[] = [];
  for await (const o of backend.list(keyPrefix)) {
    const key = o.key.slice(keyPrefix.length);
    if (source.version === undefined || !key.includes('/') || key.startsWith(`${source.version}/`)) remote.push({ ...o, key });
  }
  if (remote.length === 0) {
    const where = source.version === undefined ? sourceUri : `${sourceUri}${source.version}/`;
    throw bgError('BG_DOWNLOAD_FAILED', { source: where, modelId, reason: 'no objects found there' });
  }

  const manifest = await readManifest(opts.modelsDir, modelId);
  const local = await scanLocalModel(modelDir);
  let plan = planModel({ modelId, source: sourceUri, remote, manifest, local });

  const encrypted = [...plan.rootFiles, ...plan.versions.flatMap((v) => v.files)].filter((f) => f.decrypt);
  if ((encrypted.length > 0 || source.encrypted) && opts.decryptionKey === undefined) {
    throw bgError('BG_DECRYPTION_FAILED', {
      file: encrypted[0] ? `${sourceUri}${encrypted[0].remote.key}` : sourceUri,
      reason: 'the model is encrypted but no key is configured (MODEL_DECRYPTION_KEY or creds/bundle/model.key)',
    });
  }

  plan = await resolveLocalChecks(plan, modelDir, log);
  const allFiles = [...plan.rootFiles, ...plan.versions.flatMap((v) => v.files)];
  const toFetch = allFiles.filter((f) => f.action === 'fetch');
  counters.skipped = allFiles.length - toFetch.length;
  const comparedBy = tally(allFiles.filter((f) => f.action === 'keep').map((f) => f.comparedBy ?? '?'));
  const reasons = tally(toFetch.map((f) => f.reason));
  log.info({ source: sourceUri, objects: allFiles.length, fetch: toFetch.length, skip: counters.skipped, comparedBy, reasons }, 'plan');
  if (comparedBy['size+mtime']) log.info({ files: comparedBy['size+mtime'] }, 'the source has no checksums (file://): unchanged files were recognised by size and modification time');
  const notComparable = toFetch.filter((f) => f.reason === 'not-comparable');
  if (notComparable.length > 0) {
    log.warn({ files: notComparable.map((f) => f.remote.key) }, 'no checksum or identity could be compared with the manifest: downloading again instead of trusting the size');
  }
  progress.modelPlanned(modelId, { files: toFetch.length, bytes: toFetch.reduce((a, f) => a + f.remote.size, 0), skipped: counters.skipped });

  const entries: Record<string, ManifestEntry> = {};
  for (const f of allFiles) if (f.action === 'keep' && f.entry) entries[f.localPath] = f.entry;
  let writing: Promise<void> = Promise.resolve();
  const saveManifest = () => {
    const snapshot: Manifest = { format: 1, modelId, source: sourceUri, updatedAt: new Date().toISOString(), files: { ...entries } };
    writing = writing.then(() => writeManifest(opts.modelsDir, snapshot));
    return writing;
  };

  const transfer: TransferOptions = {
    backend,
    pool,
    rangeThreshold: opts.rangeThreshold ?? DEFAULT_RANGE_THRESHOLD,
    rangeSize: opts.rangeSize ?? DEFAULT_RANGE_SIZE,
    retries: opts.retries ?? 3,
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
    logger: log,
    keyPrefix,
    modelId,
    onBytes: (n) => progress.bytes(modelId, n),
    dirs: new Map<string, Promise<unknown>>(),
    hashThread,
  };

  const fetchInto = async (f: PlannedFile, dest: string): Promise<void> => {
    const got = await fetchObject(transfer, f.remote, dest, f.decrypt ? opts.decryptionKey : undefined);
    const s = got.local ?? (await stat(dest));
    if (got.verifiedBy === 'none') {
      counters.unverified.push(f.remote.key);
      unverifiedReasons.add(got.unverifiedReason ?? 'no checksum');
    }
    entries[f.localPath] = {
      key: f.remote.key,
      size: f.remote.size,
      checksums: got.checksums,
      ...(f.remote.etag !== undefined ? { etag: f.remote.etag } : {}),
      ...(f.remote.mtimeMs !== undefined ? { mtimeMs: f.remote.mtimeMs } : {}),
      local: { size: s.size, mtimeMs: s.mtimeMs },
      verifiedBy: got.verifiedBy,
      ...(f.decrypt ? { decrypted: true } : {}),
    };
    counters.fetched++;
    counters.bytes += f.remote.size;
    progress.fileDone(modelId);
  };

  const prune = opts.prune === true;
  const jobs: Promise<void>[] = [];
  const unverifiedReasons = new Set<string>();
  const reportUnverified = () => {
    if (counters.unverified.length === 0) return;
    // a local directory has nothing to compare with; a bucket that publishes no checksum deserves a warning
    const level = backend.uri.startsWith('file://') ? 'info' : 'warn';
    log[level](
      { files: counters.unverified.length, examples: counters.unverified.slice(0, 5), reasons: [...unverifiedReasons] },
      'copied without a checksum to verify against: only sizes were checked',
    );
  };

  // root files (Triton's config.pbtxt): each replaced by one atomic rename
  for (const f of plan.rootFiles.filter((x) => x.action === 'fetch')) {
    jobs.push(
      (async () => {
        const dir = await staging.newDir(`root-${f.localPath}`);
        const staged = join(dir, 'file');
        await fetchInto(f, staged);
        await staging.install(staged, safeJoin(modelDir, f.localPath));
        await saveManifest();
      })(),
    );
  }

  // versions: built complete in staging, then renamed into place
  for (const v of plan.versions.filter((x) => versionNeedsInstall(x, prune))) {
    jobs.push(
      (async () => {
        const dir = await staging.newDir(v.name);
        const inVersion = (p: string) => p.slice(v.name.length + 1);
        const work: Promise<void>[] = [];
        for (const f of v.files) {
          const dest = safeJoin(dir, inVersion(f.localPath));
          work.push(f.action === 'keep' ? linkOrCopy(safeJoin(modelDir, f.localPath), dest) : fetchInto(f, dest));
        }
        if (!prune) for (const extra of v.extras) work.push(linkOrCopy(safeJoin(modelDir, extra), safeJoin(dir, inVersion(extra))));
        const settled = await Promise.allSettled(work);
        const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failure) throw failure.reason;
        await staging.install(dir, safeJoin(modelDir, v.name));
        counters.versionsInstalled.push(v.name);
        if (prune) counters.removed += v.extras.length;
        log.info({ version: v.name, files: v.files.length }, v.existsLocally ? 'version updated' : 'version installed');
        await saveManifest();
      })(),
    );
  }

  const settled = await Promise.allSettled(jobs);
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure) {
    // versions that completed stay installed and recorded; partial ones are dropped with the scratch space
    reportUnverified();
    await saveManifest();
    await staging.cleanup();
    throw failure.reason;
  }

  if (prune) {
    for (const name of [...plan.staleVersions, ...plan.rootExtras]) {
      await staging.remove(safeJoin(modelDir, name));
      counters.removed++;
      log.info({ path: name }, 'pruned');
    }
  }
  reportUnverified();
  await saveManifest();
  await staging.cleanup();
  log.info({ fetched: counters.fetched, bytes: counters.bytes, skipped: counters.skipped, removed: counters.removed }, 'model in sync');
}

/** Files present locally but absent from the manifest: hash them, keep those that match the source. */
async function resolveLocalChecks(plan: ModelPlan, modelDir: string, log: Logger): Promise<ModelPlan> {
  const check = async (f: PlannedFile): Promise<PlannedFile> => {
    if (f.action !== 'check') return f;
    const expected = pickChecksum(f.remote.checksums);
    if (expected === undefined) return { ...f, action: 'fetch' };
    const path = safeJoin(modelDir, f.localPath);
    const actual = await hashFile(path, expected).catch(() => undefined);
    if (actual === undefined || !checksumEquals(expected, actual)) return { ...f, action: 'fetch', reason: 'changed' };
    const s = await stat(path);
    log.debug({ file: f.localPath, by: expected.algorithm }, 'local file matches the source');
    return {
      ...f,
      action: 'keep',
      comparedBy: `local-${expected.algorithm}`,
      entry: {
        key: f.remote.key,
        size: f.remote.size,
        checksums: f.remote.checksums,
        ...(f.remote.etag !== undefined ? { etag: f.remote.etag } : {}),
        local: { size: s.size, mtimeMs: s.mtimeMs },
        verifiedBy: expected.algorithm,
      },
    };
  };
  // two at a time: local disk reads, not worth more
  const limit = new TransferPool(2);
  const mapAll = (files: readonly PlannedFile[]) => Promise.all(files.map((f) => (f.action === 'check' ? limit.run(() => check(f)) : f)));
  return {
    ...plan,
    rootFiles: await mapAll(plan.rootFiles),
    versions: await Promise.all(plan.versions.map(async (v) => ({ ...v, files: await mapAll(v.files) }))),
  };
}

function tally(items: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const i of items) out[i] = (out[i] ?? 0) + 1;
  return out;
}

/** One line per failed model: which model, which object, why. */
export function describeFailure(r: ModelResult): string {
  const e = r.error;
  if (!e) return `model ${r.modelId}: failed`;
  return `model ${r.modelId} (${r.source}): ${e.code}: ${e.message}`;
}

