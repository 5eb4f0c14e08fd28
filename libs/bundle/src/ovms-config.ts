import { posix } from 'node:path';
import type { BundleModel } from './bundle-manifest';
import { SERVING_ENGINE_DEFAULTS, type ServingEngine } from './engines';

/** One entry of OVMS `config.json`. */
export interface OvmsModelConfig {
  name: string;
  base_path: string;
  /** Present only when the bundle pins a version; OVMS serves the latest otherwise. */
  model_version_policy?: { specific: { versions: number[] } };
}

/** OVMS `config.json` (also read by onnx-serving's `--config_path`). */
export interface OvmsConfig {
  model_config_list: { config: OvmsModelConfig }[];
}

export interface OvmsConfigOptions {
  /** Directory holding `<id>/<version>/…` as the server sees it (default `/models`). */
  basePathPrefix?: string;
  /** Engines to include (default: those served from a config.json, i.e. ovms and onnx-serving). */
  engines?: readonly ServingEngine[];
}

export const DEFAULT_OVMS_BASE_PATH = '/models';

export function ovmsConfig(
  bundle: { models: readonly Pick<BundleModel, 'id' | 'engine' | 'version'>[] },
  options: OvmsConfigOptions = {},
): OvmsConfig {
  const prefix = options.basePathPrefix ?? DEFAULT_OVMS_BASE_PATH;
  const engines = new Set(options.engines ?? (Object.keys(SERVING_ENGINE_DEFAULTS) as ServingEngine[]).filter((e) => SERVING_ENGINE_DEFAULTS[e].ovmsConfig));
  return {
    model_config_list: bundle.models
      .filter((model) => engines.has(model.engine))
      .map((model) => {
        const config: OvmsModelConfig = { name: model.id, base_path: posix.join(prefix, model.id) };
        if (model.version !== null) config.model_version_policy = { specific: { versions: [model.version] } };
        return { config };
      }),
  };
}
