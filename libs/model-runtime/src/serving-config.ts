import { availableParallelism } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import {
  resolveRuntimeOptions,
  sameRuntimeOptions,
  type PluginConfig,
  type PluginConfigValue,
  type RuntimeOptions,
} from './runtime-options';
import { DEFAULT_VERSION_POLICY, parseVersionPolicy, type VersionPolicy } from './version-policy';

// OVMS config.json (`model_config_list`) and the single-model flags → the models to serve.

export interface ModelConfig {
  readonly name: string;
  /** Absolute directory holding `<version>/model.onnx`. */
  readonly basePath: string;
  readonly versionPolicy: VersionPolicy;
  readonly runtime: RuntimeOptions;
  /** As written, for /v1/config-style dumps and change detection. */
  readonly nireq: number | undefined;
  readonly pluginConfig: PluginConfig;
}

export interface ServingConfig {
  readonly models: readonly ModelConfig[];
  /** Settings accepted but without effect here (OpenVINO-only keys, pipelines): worth a log line. */
  readonly warnings: readonly string[];
}

/** Every problem of a config, found in one pass. */
export class ServingConfigError extends Error {
  override readonly name = 'ServingConfigError';
  constructor(
    readonly problems: readonly string[],
    readonly file?: string,
  ) {
    super(`invalid serving config${file ? ` ${file}` : ''} (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${problems.join('; ')}`);
  }
}

/** A model name is one URL path segment and one gRPC string: letters, digits, `.`, `_`, `-`. */
const MODEL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** Model settings OVMS knows that change nothing for ONNX Runtime; accepted with a warning. */
const OVMS_ONLY_MODEL_KEYS = new Set([
  'batch_size',
  'shape',
  'layout',
  'allow_cache',
  'stateful',
  'idle_sequence_cleanup',
  'low_latency_transformation',
  'max_sequence_number',
]);
const MODEL_KEYS = new Set(['name', 'base_path', 'model_version_policy', 'nireq', 'plugin_config', 'target_device', ...OVMS_ONLY_MODEL_KEYS]);
/** Top-level lists OVMS serves and onnx-serving does not (DAG pipelines, MediaPipe graphs, custom loaders). */
const UNSERVED_LISTS = ['pipeline_config_list', 'mediapipe_config_list', 'custom_node_library_config_list', 'custom_loader_config_list'];
const TOP_KEYS = new Set(['model_config_list', 'monitoring', ...UNSERVED_LISTS]);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ModelSettings {
  readonly name: string;
  /** Absolute, or relative to `baseDir`. */
  readonly basePath: string;
  readonly versionPolicy?: VersionPolicy;
  readonly nireq?: number;
  readonly pluginConfig?: PluginConfig;
}

export interface ConfigContext {
  /** Relative base paths resolve against this (config.json's directory, or the working directory). */
  readonly baseDir: string;
  /** Cores to size sessions and threads for; default the machine's. */
  readonly cpus?: number;
}

function checkName(name: unknown, where: string, problems: string[]): string | undefined {
  if (typeof name !== 'string' || !MODEL_NAME.test(name)) {
    problems.push(`${where}.name must be 1-128 letters, digits, ".", "_" or "-" (not starting with "." or "-"), got ${JSON.stringify(name)}`);
    return undefined;
  }
  return name;
}

function checkBasePath(value: unknown, where: string, baseDir: string, problems: string[]): string | undefined {
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`${where}.base_path must be a directory path, got ${JSON.stringify(value)}`);
    return undefined;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    problems.push(`${where}.base_path ${JSON.stringify(value)} is remote storage; onnx-serving reads local directories (sync them with model-download)`);
    return undefined;
  }
  return isAbsolute(value) ? value : resolve(baseDir, value);
}

function checkPluginConfig(value: unknown, where: string, problems: string[]): PluginConfig | undefined {
  if (value === undefined) return {};
  // OVMS also takes plugin_config as a JSON string (as its --plugin_config flag does)
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      problems.push(`${where}.plugin_config is a string that is not JSON: ${JSON.stringify(value)}`);
      return undefined;
    }
  }
  if (!isPlainObject(parsed)) {
    problems.push(`${where}.plugin_config must be an object like {"PERFORMANCE_HINT": "THROUGHPUT"}`);
    return undefined;
  }
  const out: Record<string, PluginConfigValue> = {};
  for (const [key, v] of Object.entries(parsed)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
    else problems.push(`${where}.plugin_config.${key} must be a string, number or boolean`);
  }
  return out;
}

/** One model from already-typed settings; problems are pushed (prefixed by `where`) rather than thrown. */
function modelConfig(
  settings: ModelSettings,
  where: string,
  context: ConfigContext,
  problems: string[],
  warnings: string[],
): ModelConfig | undefined {
  const pluginConfig = settings.pluginConfig ?? {};
  const resolved = resolveRuntimeOptions({ nireq: settings.nireq, pluginConfig }, context.cpus ?? availableParallelism());
  problems.push(...resolved.problems.map((p) => `${where}.${p}`));
  warnings.push(...resolved.warnings.map((w) => `${where}.${w}`));
  if (resolved.problems.length > 0) return undefined;
  return {
    name: settings.name,
    basePath: isAbsolute(settings.basePath) ? settings.basePath : resolve(context.baseDir, settings.basePath),
    versionPolicy: settings.versionPolicy ?? DEFAULT_VERSION_POLICY,
    runtime: resolved.options,
    nireq: settings.nireq,
    pluginConfig,
  };
}

/** The one model of `--model_name` / `--model_path` (and its optional flags); throws ServingConfigError. */
export function singleModelConfig(settings: ModelSettings, context: ConfigContext): ServingConfig {
  const problems: string[] = [];
  const warnings: string[] = [];
  checkName(settings.name, 'model', problems);
  checkBasePath(settings.basePath, 'model', context.baseDir, problems);
  const model = modelConfig(settings, 'model', context, problems, warnings);
  if (problems.length > 0 || model === undefined) throw new ServingConfigError(problems);
  return { models: [model], warnings };
}

/**
 * Parses config.json text. Throws a ServingConfigError listing every problem: bad JSON, unknown keys,
 * duplicate names, bad version policies, bad nireq or plugin_config, a target_device other than CPU.
 */
export function parseServingConfig(text: string, context: ConfigContext & { readonly file?: string }): ServingConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ServingConfigError([`not valid JSON: ${(err as Error).message}`], context.file);
  }
  const problems: string[] = [];
  const warnings: string[] = [];
  if (!isPlainObject(json)) throw new ServingConfigError(['the top level must be an object with "model_config_list"'], context.file);
  for (const key of Object.keys(json)) {
    if (!TOP_KEYS.has(key)) problems.push(`unknown top-level key "${key}"; expected "model_config_list"`);
  }
  for (const key of UNSERVED_LISTS) {
    const list = json[key];
    if (Array.isArray(list) && list.length > 0) warnings.push(`${key} has ${list.length} entries; onnx-serving serves models only and skips them`);
  }
  const list = json.model_config_list;
  if (!Array.isArray(list)) {
    problems.push('"model_config_list" must be an array of {"config": {...}}');
    throw new ServingConfigError(problems, context.file);
  }
  const models: ModelConfig[] = [];
  const seen = new Set<string>();
  list.forEach((item: unknown, i) => {
    const where = `model_config_list[${i}].config`;
    if (!isPlainObject(item) || !isPlainObject(item.config) || Object.keys(item).length !== 1) {
      problems.push(`model_config_list[${i}] must be {"config": {...}}`);
      return;
    }
    const c = item.config;
    const before = problems.length;
    for (const key of Object.keys(c)) {
      if (!MODEL_KEYS.has(key)) problems.push(`${where} has unknown key "${key}"`);
      else if (OVMS_ONLY_MODEL_KEYS.has(key)) warnings.push(`${where}.${key} is an OpenVINO setting; onnx-serving uses the model's own shapes and ignores it`);
    }
    const name = checkName(c.name, where, problems);
    if (name !== undefined) {
      if (seen.has(name)) problems.push(`${where}.name "${name}" is used by an earlier model`);
      seen.add(name);
    }
    const basePath = checkBasePath(c.base_path, where, context.baseDir, problems);
    let versionPolicy: VersionPolicy | undefined;
    if (c.model_version_policy !== undefined) {
      const parsed = parseVersionPolicy(c.model_version_policy, `${where}.model_version_policy`);
      if (Array.isArray(parsed)) problems.push(...parsed);
      else versionPolicy = parsed;
    }
    let nireq: number | undefined;
    if (c.nireq !== undefined) {
      const n = typeof c.nireq === 'string' && /^\d+$/.test(c.nireq) ? Number(c.nireq) : c.nireq;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) problems.push(`${where}.nireq must be a positive integer, got ${JSON.stringify(c.nireq)}`);
      else nireq = n;
    }
    if (c.target_device !== undefined && c.target_device !== 'CPU') {
      problems.push(`${where}.target_device must be "CPU" (onnx-serving runs ONNX Runtime's CPU provider), got ${JSON.stringify(c.target_device)}`);
    }
    const pluginConfig = checkPluginConfig(c.plugin_config, where, problems);
    if (problems.length > before || name === undefined || basePath === undefined || pluginConfig === undefined) return;
    const model = modelConfig({ name, basePath, versionPolicy, nireq, pluginConfig }, where, context, problems, warnings);
    if (model) models.push(model);
  });
  if (problems.length > 0) throw new ServingConfigError(problems, context.file);
  return { models, warnings };
}

/** Whether a config change for one model needs its sessions reloaded (a policy change alone does not). */
export function needsReload(before: ModelConfig, after: ModelConfig): boolean {
  return before.basePath !== after.basePath || !sameRuntimeOptions(before.runtime, after.runtime);
}
