import { availableParallelism } from 'node:os';

// How a model's ONNX Runtime sessions run: OVMS `nireq` and `plugin_config` → sessions, threads, executor.

/**
 * 'worker': each session lives in its own worker thread, so inference runs beside the event loop that
 * serves the sockets. 'inline': one session on the event loop (onnxruntime-node's run() is synchronous
 * behind a setImmediate), which saves the hop to a worker on tiny models. 'auto': workers, unless a probe
 * at load time finds the model so fast that the hop would cost more than the run.
 */
export type Executor = 'auto' | 'worker' | 'inline';
export type ExecutionMode = 'sequential' | 'parallel';
export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';
export type PerformanceHint = 'LATENCY' | 'THROUGHPUT';

export interface RuntimeOptions {
  readonly executor: Executor;
  /** Parallel sessions (OVMS `nireq`); always 1 for 'inline'. */
  readonly sessions: number;
  /** Threads one session uses inside an operator. */
  readonly intraOpThreads: number;
  /** Threads one session uses across independent operators ('parallel' execution mode only). */
  readonly interOpThreads: number;
  readonly executionMode: ExecutionMode;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
  /** Idle intra/inter-op threads busy-wait for work; worth it only while threads do not outnumber cores. */
  readonly allowSpinning: boolean;
}

export type PluginConfigValue = string | number | boolean;
export type PluginConfig = Readonly<Record<string, PluginConfigValue>>;

export interface RuntimeOptionsInput {
  /** OVMS `nireq`: parallel inference requests, i.e. sessions. */
  readonly nireq?: number;
  readonly pluginConfig?: PluginConfig;
}

export interface ResolvedRuntimeOptions {
  readonly options: RuntimeOptions;
  /** Keys understood by OpenVINO but meaningless here: logged, not fatal, so OVMS configs load unchanged. */
  readonly warnings: readonly string[];
  readonly problems: readonly string[];
}

/** OpenVINO CPU plugin keys OVMS configs carry that ONNX Runtime has no use for. */
const IGNORED_OPENVINO_KEYS = new Set([
  'CPU_BIND_THREAD',
  'ENABLE_CPU_PINNING',
  'AFFINITY',
  'INFERENCE_PRECISION_HINT',
  'ENABLE_HYPER_THREADING',
  'SCHEDULING_CORE_TYPE',
  'CPU_DENORMALS_OPTIMIZATION',
  'CPU_SPARSE_WEIGHTS_DECOMPRESSION_RATE',
  'KV_CACHE_PRECISION',
  'CACHE_DIR',
  'PERF_COUNT',
  'LOG_LEVEL',
  'EXECUTION_MODE_HINT',
  'PERFORMANCE_HINT_NUM_REQUESTS',
  'MODEL_PRIORITY',
]);

const THREAD_KEYS = ['intra_op_num_threads', 'INFERENCE_NUM_THREADS', 'CPU_THREADS_NUM'] as const;
const STREAM_KEYS = ['NUM_STREAMS', 'CPU_THROUGHPUT_STREAMS'] as const;
const KNOWN_KEYS = new Set<string>([
  ...THREAD_KEYS,
  ...STREAM_KEYS,
  'inter_op_num_threads',
  'execution_mode',
  'graph_optimization_level',
  'allow_spinning',
  'executor',
  'PERFORMANCE_HINT',
]);

/** The plugin_config keys this runtime reads, for documentation and error messages. */
export const PLUGIN_CONFIG_KEYS: readonly string[] = [...KNOWN_KEYS];

function positiveInt(value: PluginConfigValue | undefined, key: string, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    problems.push(`plugin_config.${key} must be a positive integer, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return n;
}

function word<T extends string>(
  value: PluginConfigValue | undefined,
  key: string,
  allowed: readonly T[],
  problems: string[],
): T | undefined {
  if (value === undefined) return undefined;
  const found = allowed.find((a) => typeof value === 'string' && a.toLowerCase() === value.trim().toLowerCase());
  if (found === undefined) problems.push(`plugin_config.${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  return found;
}

function flag(value: PluginConfigValue | undefined, key: string, problems: string[]): boolean | undefined {
  if (value === undefined) return undefined;
  const text = String(value).trim().toLowerCase();
  if (['1', 'true', 'yes'].includes(text)) return true;
  if (['0', 'false', 'no'].includes(text)) return false;
  problems.push(`plugin_config.${key} must be true or false (or 1 / 0), got ${JSON.stringify(value)}`);
  return undefined;
}

function firstOf(config: PluginConfig, keys: readonly string[]): [string, PluginConfigValue] | undefined {
  for (const key of keys) if (config[key] !== undefined) return [key, config[key] as PluginConfigValue];
  return undefined;
}

/**
 * Resolves sessions and threads for one model. Defaults, for a machine with `cpus` cores: THROUGHPUT —
 * one worker session per core with one intra-op thread each, so concurrent requests keep every core
 * busy without oversubscribing; LATENCY — one session whose intra-op threads span every core.
 */
export function resolveRuntimeOptions(input: RuntimeOptionsInput, cpus: number = availableParallelism()): ResolvedRuntimeOptions {
  const config = input.pluginConfig ?? {};
  const problems: string[] = [];
  const warnings: string[] = [];
  for (const key of Object.keys(config)) {
    if (KNOWN_KEYS.has(key)) continue;
    if (IGNORED_OPENVINO_KEYS.has(key)) warnings.push(`plugin_config.${key} is an OpenVINO setting; ONNX Runtime ignores it`);
    else problems.push(`plugin_config.${key} is not a known setting; known: ${PLUGIN_CONFIG_KEYS.join(', ')}`);
  }
  const hint = word(config.PERFORMANCE_HINT, 'PERFORMANCE_HINT', ['LATENCY', 'THROUGHPUT'] as const, problems) ?? 'THROUGHPUT';
  const executor = word(config.executor, 'executor', ['auto', 'worker', 'inline'] as const, problems) ?? 'auto';
  const streams = firstOf(config, STREAM_KEYS);
  const threads = firstOf(config, THREAD_KEYS);
  if (input.nireq !== undefined && (!Number.isSafeInteger(input.nireq) || input.nireq < 1)) {
    problems.push(`nireq must be a positive integer, got ${JSON.stringify(input.nireq)}`);
  }
  const cores = Math.max(1, Math.floor(cpus));
  const requested =
    (input.nireq !== undefined && Number.isSafeInteger(input.nireq) && input.nireq >= 1 ? input.nireq : undefined) ??
    (streams ? positiveInt(streams[1], streams[0], problems) : undefined) ??
    (hint === 'LATENCY' ? 1 : cores);
  const sessions = executor === 'inline' ? 1 : requested;
  if (executor === 'inline' && requested > 1 && (input.nireq !== undefined || streams !== undefined)) {
    warnings.push(`executor "inline" runs one session on the event loop; nireq ${requested} is served by it one request at a time`);
  }
  const intraOpThreads =
    (threads ? positiveInt(threads[1], threads[0], problems) : undefined) ?? Math.max(1, Math.floor(cores / sessions));
  const interOpThreads = positiveInt(config.inter_op_num_threads, 'inter_op_num_threads', problems) ?? 1;
  const executionMode = word(config.execution_mode, 'execution_mode', ['sequential', 'parallel'] as const, problems) ?? 'sequential';
  const graphOptimizationLevel =
    word(config.graph_optimization_level, 'graph_optimization_level', ['disabled', 'basic', 'extended', 'all'] as const, problems) ??
    'all';
  // spinning threads that outnumber the cores steal them from the sessions doing work
  const allowSpinning = flag(config.allow_spinning, 'allow_spinning', problems) ?? sessions * (intraOpThreads + (executionMode === 'parallel' ? interOpThreads : 0)) <= cores;
  return {
    options: { executor, sessions, intraOpThreads, interOpThreads, executionMode, graphOptimizationLevel, allowSpinning },
    warnings,
    problems,
  };
}

/** Whether switching from `a` to `b` needs the sessions rebuilt. */
export function sameRuntimeOptions(a: RuntimeOptions, b: RuntimeOptions): boolean {
  return (
    a.executor === b.executor &&
    a.sessions === b.sessions &&
    a.intraOpThreads === b.intraOpThreads &&
    a.interOpThreads === b.interOpThreads &&
    a.executionMode === b.executionMode &&
    a.graphOptimizationLevel === b.graphOptimizationLevel &&
    a.allowSpinning === b.allowSpinning
  );
}
