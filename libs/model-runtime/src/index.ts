// @bundlegate/model-runtime: serve ONNX models with onnxruntime-node, the OVMS way — config.json, version
// policies, hot reload, parallel sessions — behind one protocol-free `infer()`.

// ---- configuration: OVMS config.json, single-model flags, version policies, sessions and threads
export { parseServingConfig, singleModelConfig, needsReload, ServingConfigError } from './serving-config';
export type { ConfigContext, ModelConfig, ModelSettings, ServingConfig } from './serving-config';
export { DEFAULT_VERSION_POLICY, formatVersionPolicy, parseVersionPolicy, selectVersions } from './version-policy';
export type { VersionPolicy } from './version-policy';
export { PLUGIN_CONFIG_KEYS, resolveRuntimeOptions, sameRuntimeOptions } from './runtime-options';
export type {
  ExecutionMode,
  Executor,
  GraphOptimizationLevel,
  PerformanceHint,
  PluginConfig,
  PluginConfigValue,
  ResolvedRuntimeOptions,
  RuntimeOptions,
  RuntimeOptionsInput,
} from './runtime-options';

// ---- the model repository on disk and its polling
export { scanRepository } from './model-repository';
export type { RepositoryScan, VersionDir } from './model-repository';
export { readServingConfig, startPolling } from './repository-poller';
export type { Poller, PollerOptions } from './repository-poller';

// ---- served models: versions, leases, inference
export { ModelManager, parseVersion } from './model-manager';
export type {
  InferRequest,
  InferResult,
  ManagerListener,
  ModelManagerOptions,
  ModelStatus,
  ServedVersion,
  VersionLease,
  VersionState,
  VersionStatus,
} from './model-manager';

// ---- one model file: sessions on worker threads or inline, inputs checked and bound
export { INLINE_BELOW_MS, openModel } from './open-model';
export type { ModelOpener } from './open-model';
export { sessionOptions } from './model-runner';
export type { ModelRunner } from './model-runner';
export { createInputBinder, imageInputLayout } from './input-binding';
export type { ImageInputLayout, InputBinder, InputBinderOptions } from './input-binding';
export { fromOrtValue, toOrtValue } from './ort-values';
export type { OrtValue } from './ort-values';
export { describeSpec, shapeMatches, tensorSpecFromOrt } from './tensor-spec';
export type { OrtValueMetadata, TensorSpec } from './tensor-spec';
