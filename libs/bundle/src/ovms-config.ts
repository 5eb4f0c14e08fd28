import { posix } from 'node:path';
import type { BundleModel } from './bundle-manifest';
import type { ModelVersionPolicy, OnnxServingOptions, OvmsOptions, OvmsShapeValue } from './engine-options';
import { SERVING_ENGINE_DEFAULTS, type ServingEngine } from './engines';

/** One entry of OVMS `config.json`, keys as OVMS documents them. */
export interface OvmsModelConfig {
  name: string;
  base_path: string;
  target_device?: string;
  batch_size?: number | 'auto';
  /** `auto`, `(1,3,224,224)`, or input name → either. */
  shape?: string | Record<string, string>;
  layout?: string | Record<string, string>;
  nireq?: number;
  plugin_config?: Record<string, string | number | boolean>;
  /** Absent: OVMS serves the latest version. */
  model_version_policy?: ModelVersionPolicy;
  stateful?: boolean;
  idle_sequence_cleanup?: boolean;
  max_sequence_number?: number;
  low_latency_transformation?: boolean;
  allow_cache?: boolean;
}

/** OVMS `config.json` (also read by onnx-serving's `--config_path`). */
export interface OvmsConfig {
  model_config_list: { config: OvmsModelConfig }[];
  /** Present when a model turns metrics on (`metrics_enable`). */
  monitoring?: { metrics: { enable: boolean; metrics_list?: string[] } };
}

export interface OvmsConfigOptions {
  /** Directory holding `<id>/<version>/…` as the server sees it (default `/models`). */
  basePathPrefix?: string;
  /** Engines to include (default: those served from a config.json, i.e. ovms and onnx-serving). */
  engines?: readonly ServingEngine[];
}

export const DEFAULT_OVMS_BASE_PATH = '/models';

/** The fields of a model `ovmsConfig` reads. */
export type OvmsConfigModel = Pick<BundleModel, 'id' | 'engine' | 'version'> & { options?: BundleModel['options'] };

/** `[1, 3, 224, 224]` → `(1,3,224,224)`; a written tuple or `auto` stays as written. */
export function ovmsShape(value: OvmsShapeValue): string {
  return Array.isArray(value) ? `(${value.join(',')})` : value;
}

// Model settings in the order OVMS's parameter table lists them; every other option is a server flag.
const OVMS_MODEL_KEYS = [
  'target_device',
  'batch_size',
  'shape',
  'layout',
  'nireq',
  'plugin_config',
  'model_version_policy',
  'stateful',
  'idle_sequence_cleanup',
  'max_sequence_number',
  'low_latency_transformation',
  'allow_cache',
] as const satisfies readonly (keyof OvmsOptions & keyof OvmsModelConfig)[];

export function ovmsConfig(bundle: { models: readonly OvmsConfigModel[] }, options: OvmsConfigOptions = {}): OvmsConfig {
  const prefix = options.basePathPrefix ?? DEFAULT_OVMS_BASE_PATH;
  const engines = new Set(options.engines ?? (Object.keys(SERVING_ENGINE_DEFAULTS) as ServingEngine[]).filter((e) => SERVING_ENGINE_DEFAULTS[e].ovmsConfig));
  const models = bundle.models.filter((model) => engines.has(model.engine));
  const config: OvmsConfig = { model_config_list: models.map((model) => ({ config: modelConfig(model, prefix) })) };
  // one monitoring section per server: on when any of its models asks, with every list asked for
  const metered = models.map((m) => (m.engine === 'ovms' ? (m.options as OvmsOptions | undefined) : undefined)).filter((o) => o?.metrics_enable === true);
  if (metered.length > 0) {
    const lists = metered.flatMap((o) => o?.metrics_list ?? []);
    config.monitoring = { metrics: { enable: true, ...(lists.length > 0 ? { metrics_list: [...new Set(lists)] } : {}) } };
  }
  return config;
}

function modelConfig(model: OvmsConfigModel, prefix: string): OvmsModelConfig {
  const config: OvmsModelConfig = { name: model.id, base_path: posix.join(prefix, model.id) };
  const options = (model.options ?? {}) as OvmsOptions & OnnxServingOptions;
  for (const key of OVMS_MODEL_KEYS) {
    const value = options[key];
    if (value === undefined) continue;
    if (key === 'shape') {
      const shape = value as NonNullable<OvmsOptions['shape']>;
      config.shape =
        typeof shape === 'string' || Array.isArray(shape)
          ? ovmsShape(shape)
          : Object.fromEntries(Object.entries(shape).map(([input, s]) => [input, ovmsShape(s)]));
    } else {
      (config as unknown as Record<string, unknown>)[key] = value;
    }
  }
  if (model.version !== null) config.model_version_policy = { specific: { versions: [model.version] } };
  return config;
}
