import { bgError, type Logger } from '@bundlegate/service-kit';
import type { Tensor } from '@bundlegate/tensors';
import { createInputBinder, type InputBinder } from './input-binding';
import type { ModelRunner } from './model-runner';
import { scanRepository, type VersionDir } from './model-repository';
import { openModel, type ModelOpener } from './open-model';
import { needsReload, type ModelConfig, type ServingConfig } from './serving-config';
import type { TensorSpec } from './tensor-spec';
import { selectVersions } from './version-policy';

// The served models: which versions are loaded, loading new ones before retiring old ones, and leases
// that keep a retired version's sessions alive until the requests running on them have finished.

/** TF Serving / OVMS servable states. */
export type VersionState = 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

export interface VersionStatus {
  readonly version: number;
  readonly state: VersionState;
  /** `OK`, or `UNKNOWN` when loading failed (with the reason in errorMessage). */
  readonly errorCode: 'OK' | 'UNKNOWN';
  readonly errorMessage: string;
}

export interface ModelStatus {
  readonly name: string;
  readonly versions: readonly VersionStatus[];
}

/** A loaded version as request handlers see it. */
export interface ServedVersion {
  readonly name: string;
  readonly version: number;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly runner: ModelRunner;
}

export interface VersionLease {
  readonly model: ServedVersion;
  /** Call exactly once when the request is done with the version. */
  release(): void;
}

export interface InferRequest {
  readonly model: string;
  /** A specific version; the highest available one when absent. */
  readonly version?: number;
  readonly inputs: readonly Tensor[];
  /** Outputs to return, in this order; every output in model order when absent or empty. */
  readonly outputs?: readonly string[];
  /**
   * The caller will not touch the input data again (a decoded request): data owning its whole buffer may be moved
   * to an inference worker thread instead of copied, leaving it detached (empty) here. Default false.
   */
  readonly moveInputs?: boolean;
  /** Called once the version is pinned, before the inputs are checked (for per-version metrics). */
  readonly onVersion?: (version: number) => void;
}

export interface InferResult {
  readonly model: string;
  readonly version: number;
  readonly outputs: Tensor[];
  /** Microseconds spent in onnxruntime (excluding input checks and image decoding). */
  readonly inferenceUs: number;
}

export interface ModelManagerOptions {
  readonly logger: Logger;
  /** Loads one model file (default `openModel`). */
  readonly open?: ModelOpener;
  /** Largest image accepted for image inputs, in pixels. */
  readonly maxImagePixels?: number;
}

export type ManagerListener = (models: readonly ModelStatus[]) => void;

class Version implements ServedVersion {
  state: VersionState = 'LOADING';
  runner!: ModelRunner;
  binder!: InputBinder;
  refs = 0;
  private closing: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly source: VersionDir,
  ) {}

  get inputs(): readonly TensorSpec[] {
    return this.runner.inputs;
  }

  get outputs(): readonly TensorSpec[] {
    return this.runner.outputs;
  }

  /** Stop taking requests; the sessions close once the last lease is released. */
  retire(logger: Logger): Promise<void> {
    if (this.closing) return this.closing;
    this.state = 'UNLOADING';
    this.closing = new Promise<void>((resolve) => {
      this.whenIdle = () => {
        this.runner.close().then(
          () => {
            this.state = 'END';
            logger.info({ model: this.name, version: this.version }, 'model version unloaded');
            resolve();
          },
          (err: unknown) => {
            this.state = 'END';
            logger.error({ err, model: this.name, version: this.version }, 'closing a model version failed');
            resolve();
          },
        );
      };
      if (this.refs === 0) this.whenIdle();
    });
    return this.closing;
  }

  whenIdle: (() => void) | undefined;

  release(): void {
    this.refs--;
    if (this.refs === 0 && this.state === 'UNLOADING') this.whenIdle?.();
  }
}

interface ModelEntry {
  config: ModelConfig;
  /** Versions loading, available or unloading, by version number. */
  readonly live: Map<number, Version>;
  /** Versions retired (UNLOADING until their last request ends, then END) or failed to load, for status reports. */
  readonly ended: Map<number, VersionStatus | Version>;
  /** Version → stamp of the file that failed to load: retried only once the file changes. */
  readonly failed: Map<number, string>;
}

/** `"2"` → 2; `""` → undefined (the server picks); anything else names no version. */
export function parseVersion(model: string, text: string | bigint | number | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  const s = String(text);
  if (/^\d{1,15}$/.test(s) && Number(s) > 0) return Number(s);
  throw bgError('BG_UNKNOWN_VERSION', { modelId: model, version: s });
}

export class ModelManager {
  private readonly models = new Map<string, ModelEntry>();
  private readonly logger: Logger;
  private readonly open: ModelOpener;
  private readonly maxImagePixels: number | undefined;
  private readonly listeners = new Set<ManagerListener>();
  private readonly retiring = new Set<Promise<void>>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: ModelManagerOptions) {
    this.logger = options.logger;
    this.open = options.open ?? openModel;
    this.maxImagePixels = options.maxImagePixels;
  }

  /** Serve exactly the models of `config`: add new ones, reload changed ones, retire removed ones. */
  apply(config: ServingConfig): Promise<void> {
    return this.serial(async () => {
      const wanted = new Map(config.models.map((m) => [m.name, m]));
      await Promise.all(
        config.models.map(async (mc) => {
          let entry = this.models.get(mc.name);
          let reload = false;
          if (entry === undefined) {
            entry = { config: mc, live: new Map(), ended: new Map(), failed: new Map() };
            this.models.set(mc.name, entry);
            this.logger.info({ model: mc.name, basePath: mc.basePath, runtime: mc.runtime }, 'model added');
          } else {
            reload = needsReload(entry.config, mc);
            if (reload) {
              entry.failed.clear();
              this.logger.info({ model: mc.name, basePath: mc.basePath, runtime: mc.runtime }, 'model settings changed; reloading');
            }
            entry.config = mc;
          }
          await this.sync(entry, reload);
        }),
      );
      for (const [name, entry] of this.models) {
        if (wanted.has(name)) continue;
        this.models.delete(name);
        this.logger.info({ model: name }, 'model removed');
        for (const v of entry.live.values()) this.retire(v);
      }
    });
  }

  /** Rescan every model's directory: new versions load, versions gone or outside the policy retire. */
  refresh(): Promise<void> {
    return this.serial(async () => {
      await Promise.all([...this.models.values()].map((entry) => this.sync(entry, false)));
    });
  }

  /** Whether `name` is a configured model. */
  has(name: string): boolean {
    return this.models.has(name);
  }

  /** Throws BG_UNKNOWN_MODEL (listing the known ones) unless `name` is a configured model. */
  checkModel(name: string): void {
    this.entry(name);
  }

  /** Names of the configured models, sorted. */
  modelNames(): string[] {
    return [...this.models.keys()].sort();
  }

  /** Every configured model's versions and states (OVMS `/v1/config`, TF `GetModelStatus`). */
  statuses(): ModelStatus[] {
    return this.modelNames().map((name) => this.status(name));
  }

  /** One model's versions and states; throws BG_UNKNOWN_MODEL. */
  status(name: string): ModelStatus {
    const entry = this.entry(name);
    const versions = new Map<number, VersionStatus>();
    for (const [version, e] of entry.ended) {
      versions.set(version, e instanceof Version ? { version, state: e.state, errorCode: 'OK', errorMessage: 'OK' } : e);
    }
    for (const v of entry.live.values()) {
      versions.set(v.version, { version: v.version, state: v.state, errorCode: 'OK', errorMessage: 'OK' });
    }
    return { name, versions: [...versions.values()].sort((a, b) => a.version - b.version) };
  }

  /** The model's available versions, highest first; throws BG_UNKNOWN_MODEL. */
  availableVersions(name: string): number[] {
    return [...this.entry(name).live.values()].filter((v) => v.state === 'AVAILABLE').map((v) => v.version).sort((a, b) => b - a);
  }

  /** Whether the model (that version, or any) can take requests now; throws BG_UNKNOWN_MODEL. */
  isReady(name: string, version?: number): boolean {
    const entry = this.entry(name);
    if (version === undefined) return [...entry.live.values()].some((v) => v.state === 'AVAILABLE');
    return entry.live.get(version)?.state === 'AVAILABLE';
  }

  /**
   * Pins one version for a request: the named one, or the highest available. Throws BG_UNKNOWN_MODEL,
   * BG_UNKNOWN_VERSION, or BG_MODEL_NOT_READY (known but still loading, or nothing loaded).
   */
  acquire(name: string, version?: number): VersionLease {
    const entry = this.entry(name);
    let picked: Version | undefined;
    if (version === undefined) {
      for (const v of entry.live.values()) {
        if (v.state === 'AVAILABLE' && (picked === undefined || v.version > picked.version)) picked = v;
      }
      if (picked === undefined) {
        const loading = [...entry.live.values()].some((v) => v.state === 'LOADING');
        throw bgError('BG_MODEL_NOT_READY', { modelId: name, reason: loading ? 'its versions are still loading' : 'no version is loaded' });
      }
    } else {
      picked = entry.live.get(version);
      if (picked?.state === 'LOADING') throw bgError('BG_MODEL_NOT_READY', { modelId: name, reason: `version ${version} is still loading` });
      if (picked === undefined || picked.state !== 'AVAILABLE') {
        throw bgError('BG_UNKNOWN_VERSION', { modelId: name, version: String(version), known: this.availableVersions(name).map(String) });
      }
    }
    const v = picked;
    v.refs++;
    let released = false;
    return {
      model: v,
      release: () => {
        if (released) return;
        released = true;
        v.release();
      },
    };
  }

  /** The whole request path: pin a version, check and bind inputs, run, release. */
  async infer(request: InferRequest): Promise<InferResult> {
    const lease = this.acquire(request.model, request.version);
    try {
      const v = lease.model as Version;
      request.onVersion?.(v.version);
      const fetches = resolveFetches(v, request.outputs);
      const feeds = await v.binder.bind(request.inputs, { move: request.moveInputs === true });
      const started = process.hrtime.bigint();
      let outputs: Tensor[];
      try {
        outputs = await v.runner.run(feeds, fetches);
      } catch (err) {
        throw bgError('BG_INFERENCE_FAILED', { modelId: v.name }, { cause: err });
      }
      const inferenceUs = Number((process.hrtime.bigint() - started) / 1000n);
      return { model: v.name, version: v.version, outputs, inferenceUs };
    } finally {
      lease.release();
    }
  }

  /** Called after every apply/refresh with every model's status (drives readiness). */
  onChange(listener: ManagerListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Retire everything and wait until every session is closed (in-flight requests finish first). */
  close(): Promise<void> {
    return this.serial(async () => {
      this.closed = true;
      for (const entry of this.models.values()) for (const v of entry.live.values()) this.retire(v);
      this.models.clear();
      await Promise.all([...this.retiring]);
    });
  }

  private entry(name: string): ModelEntry {
    const entry = this.models.get(name);
    if (entry === undefined) throw bgError('BG_UNKNOWN_MODEL', { modelId: name, known: this.modelNames() });
    return entry;
  }

  private serial(work: () => Promise<void>): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.closed) return;
      await work();
      this.emit();
    });
    // one failed reconcile must not wedge the ones after it
    this.queue = run.catch((err: unknown) => this.logger.error({ err }, 'model reconcile failed'));
    return run;
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const statuses = this.statuses();
    for (const listener of this.listeners) {
      try {
        listener(statuses);
      } catch (err) {
        this.logger.error({ err }, 'a model status listener failed');
      }
    }
  }

  private retire(v: Version): void {
    const done = v.retire(this.logger);
    this.retiring.add(done);
    void done.then(() => this.retiring.delete(done));
  }

  /** Bring one model's live versions in line with its directory and policy: load first, then retire. */
  private async sync(entry: ModelEntry, reloadAll: boolean): Promise<void> {
    const { config } = entry;
    const scan = await scanRepository(config.basePath);
    if (scan.problem) this.logger.warn({ model: config.name, problem: scan.problem }, 'model repository unreadable');
    const byVersion = new Map(scan.versions.map((d) => [d.version, d]));
    const desired = new Set(selectVersions(config.versionPolicy, byVersion.keys()));
    // the desired version whose file failed to load is retried only when the file changed
    for (const [version, stamp] of entry.failed) {
      const dir = byVersion.get(version);
      if (dir === undefined || dir.stamp !== stamp) entry.failed.delete(version);
    }
    const loads: Promise<void>[] = [];
    for (const version of desired) {
      const dir = byVersion.get(version) as VersionDir;
      const current = entry.live.get(version);
      const serving = current !== undefined && current.state !== 'UNLOADING';
      if (serving && !reloadAll) continue;
      if (entry.failed.has(version)) continue;
      loads.push(this.load(entry, dir));
    }
    await Promise.all(loads);
    for (const v of [...entry.live.values()]) {
      if (desired.has(v.version)) continue;
      entry.live.delete(v.version);
      entry.ended.set(v.version, v);
      this.logger.info({ model: config.name, version: v.version }, 'model version retired');
      this.retire(v);
    }
  }

  private async load(entry: ModelEntry, dir: VersionDir): Promise<void> {
    const { name, runtime } = entry.config;
    const v = new Version(name, dir.version, dir);
    const previous = entry.live.get(dir.version);
    // a reload keeps the old sessions serving until the new ones are ready
    if (previous === undefined) {
      entry.live.set(dir.version, v);
      entry.ended.delete(dir.version);
    }
    const started = performance.now();
    try {
      v.runner = await this.open(dir.file, runtime);
      v.binder = createInputBinder(v.runner.inputs, { maxImagePixels: this.maxImagePixels });
    } catch (err) {
      entry.failed.set(dir.version, dir.stamp);
      const message = err instanceof Error ? err.message : String(err);
      this.logger.error({ err, model: name, version: dir.version, file: dir.file }, 'model version failed to load');
      if (entry.live.get(dir.version) === v) {
        entry.live.delete(dir.version);
        entry.ended.set(dir.version, { version: dir.version, state: 'END', errorCode: 'UNKNOWN', errorMessage: message });
      }
      return;
    }
    if (this.models.get(name) !== entry) {
      // removed from the config while loading
      await v.runner.close();
      return;
    }
    v.state = 'AVAILABLE';
    entry.live.set(dir.version, v);
    entry.ended.delete(dir.version);
    this.logger.info(
      {
        model: name,
        version: dir.version,
        ms: Math.round(performance.now() - started),
        inputs: v.inputs,
        outputs: v.outputs,
        executor: v.runner.options.executor,
        sessions: v.runner.options.sessions,
        intraOpThreads: v.runner.options.intraOpThreads,
        probeMs: v.runner.probeMs,
      },
      'model version available',
    );
    if (previous !== undefined && previous !== v) this.retire(previous);
  }
}

function resolveFetches(v: ServedVersion, requested: readonly string[] | undefined): string[] {
  const names = v.outputs.map((o) => o.name);
  if (requested === undefined || requested.length === 0) return names;
  const out: string[] = [];
  for (const name of requested) {
    if (!names.includes(name)) {
      throw bgError('BG_INVALID_ARGUMENT', { field: 'outputs', expected: `outputs of ${v.name}: ${names.join(', ')}`, got: name });
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}
