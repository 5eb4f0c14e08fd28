// Per-engine `options` of a bundle.yaml model, named as each server documents them, and the settings
// every engine shares (resources, GPUs, environment, arguments). The JSON Schema ($defs ovmsOptions,
// onnxServingOptions, tritonOptions, tfservingOptions) is the other half: a field is added to both.

/** OVMS `model_version_policy`, exactly as config.json takes it. */
export type ModelVersionPolicy = { latest: { num_versions: number } } | { specific: { versions: number[] } } | { all: Record<string, never> };

/** One OVMS shape: `auto`, a tuple `(1,3,224,224)`, or the same as a list (`-1` any, `"1:10"` a range). */
export type OvmsShapeValue = string | (number | string)[];

export const OVMS_LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARNING', 'ERROR'] as const;
export type OvmsLogLevel = (typeof OVMS_LOG_LEVELS)[number];

/** OpenVINO Model Server: model settings for config.json, server settings for flags. */
export interface OvmsOptions {
  target_device?: string;
  batch_size?: number | 'auto';
  /** One shape for a single-input model, or input name → shape. */
  shape?: OvmsShapeValue | Record<string, OvmsShapeValue>;
  /** One layout (`NHWC:NCHW`), or input / output name → layout. */
  layout?: string | Record<string, string>;
  nireq?: number;
  plugin_config?: Record<string, string | number | boolean>;
  model_version_policy?: ModelVersionPolicy;
  stateful?: boolean;
  idle_sequence_cleanup?: boolean;
  max_sequence_number?: number;
  low_latency_transformation?: boolean;
  allow_cache?: boolean;
  /** config.json `monitoring.metrics`. */
  metrics_enable?: boolean;
  metrics_list?: string[];
  file_system_poll_wait_seconds?: number;
  sequence_cleaner_poll_wait_minutes?: number;
  grpc_workers?: number;
  rest_workers?: number;
  log_level?: OvmsLogLevel;
  log_path?: string;
  cache_dir?: string;
  cpu_extension?: string;
  /** Bundlegate's: give the container the devices `target_device` names (opt-in). */
  mount_devices?: boolean;
}

/** onnx-serving's session settings (`plugin_config`): the keys @bundlegate/model-runtime reads. */
export interface OnnxServingPluginConfig {
  PERFORMANCE_HINT?: 'THROUGHPUT' | 'LATENCY';
  NUM_STREAMS?: number;
  CPU_THROUGHPUT_STREAMS?: number;
  INFERENCE_NUM_THREADS?: number;
  CPU_THREADS_NUM?: number;
  intra_op_num_threads?: number;
  inter_op_num_threads?: number;
  execution_mode?: 'sequential' | 'parallel';
  graph_optimization_level?: 'disabled' | 'basic' | 'extended' | 'all';
  executor?: 'worker' | 'inline';
}

/** onnx-serving: the OVMS-style fields it honours, and its own server flags. */
export interface OnnxServingOptions {
  model_version_policy?: ModelVersionPolicy;
  nireq?: number;
  target_device?: 'CPU';
  plugin_config?: OnnxServingPluginConfig;
  file_system_poll_wait_seconds?: number;
  log_level?: OvmsLogLevel;
  /** Bytes, or with a unit (`100MiB`). */
  grpc_max_message_size?: number | string;
  rest_max_body_size?: number | string;
  max_image_pixels?: number;
  /** `30s`, `1m30s`. */
  drain_timeout?: string;
}

/** Triton Inference Server, named as its flags. */
export interface TritonOptions {
  'model-control-mode'?: 'explicit' | 'poll' | 'none';
  'repository-poll-secs'?: number;
  'strict-readiness'?: boolean;
  'exit-on-error'?: boolean;
  /** backend → setting → value: `--backend-config=<backend>,<setting>=<value>`. */
  'backend-config'?: Record<string, Record<string, string>>;
  'metrics-port'?: number;
  'allow-metrics'?: boolean;
  'allow-gpu-metrics'?: boolean;
  'allow-cpu-metrics'?: boolean;
  'metrics-interval-ms'?: number;
  'log-verbose'?: number;
  'log-info'?: boolean;
  'log-warning'?: boolean;
  'log-error'?: boolean;
  'log-format'?: 'default' | 'ISO8601';
  'http-thread-count'?: number;
  'model-load-thread-count'?: number;
  'pinned-memory-pool-byte-size'?: number;
  /** GPU index → bytes: `--cuda-memory-pool-byte-size=<gpu>:<bytes>`. */
  'cuda-memory-pool-byte-size'?: Record<string, number>;
  'exit-timeout-secs'?: number;
  'rate-limit'?: 'off' | 'execution_count';
  'buffer-manager-thread-count'?: number;
}

/** TF Serving `BatchingParameters` (the text proto of `--batching_parameters_file`). */
export interface TfServingBatching {
  max_batch_size?: number;
  batch_timeout_micros?: number;
  num_batch_threads?: number;
  max_enqueued_batches?: number;
  thread_pool_name?: string;
  allowed_batch_sizes?: number[];
  pad_variable_length_inputs?: boolean;
}

/** TF Serving `MonitoringConfig` (the text proto of `--monitoring_config_file`). */
export interface TfServingMonitoring {
  prometheus_config: { enable: boolean; path?: string };
}

/** TensorFlow Serving, named as its flags. */
export interface TfServingOptions {
  batching?: TfServingBatching;
  monitoring?: TfServingMonitoring;
  tensorflow_intra_op_parallelism?: number;
  tensorflow_inter_op_parallelism?: number;
  tensorflow_session_parallelism?: number;
  grpc_max_threads?: number;
  grpc_channel_arguments?: Record<string, string>;
  enable_model_warmup?: boolean;
  num_request_iterations_for_warmup?: number;
  file_system_poll_wait_seconds?: number;
  rest_api_num_threads?: number;
  rest_api_timeout_in_ms?: number;
  rest_api_enable_cors_support?: boolean;
  max_num_load_retries?: number;
  load_retry_interval_micros?: number;
  num_load_threads?: number;
  num_unload_threads?: number;
  flush_filesystem_caches?: boolean;
  per_process_gpu_memory_fraction?: number;
  saved_model_tags?: string[];
  xla_cpu_compilation_enabled?: boolean;
  enable_signature_method_name_check?: boolean;
  remove_unused_fields_from_bundle_metagraph?: boolean;
}

export interface EngineOptionsMap {
  ovms: OvmsOptions;
  'onnx-serving': OnnxServingOptions;
  triton: TritonOptions;
  tfserving: TfServingOptions;
}

/** `resources` as bundle.yaml writes it (compose's `deploy.resources` shape). */
export interface ResourcesEntry {
  limits?: { cpus?: number | string; memory?: number | string };
  reservations?: { cpus?: number | string; memory?: number | string };
}

/**
 * A model's resources as the `SERVING_<id>_*` variables take them: CPU cores (`0.5`) and docker memory
 * sizes (`512m`); a field left out keeps the generator's default.
 */
export interface ServingResources {
  cpuLimit?: string;
  memLimit?: string;
  cpuReservation?: string;
  memReservation?: string;
}

export function servingResources(entry: ResourcesEntry): ServingResources {
  const out: ServingResources = {};
  const text = (v: number | string | undefined): string | undefined => (v === undefined ? undefined : String(v));
  const put = (key: keyof ServingResources, v: number | string | undefined): void => {
    const t = text(v);
    if (t !== undefined) out[key] = t;
  };
  put('cpuLimit', entry.limits?.cpus);
  put('memLimit', entry.limits?.memory);
  put('cpuReservation', entry.reservations?.cpus);
  put('memReservation', entry.reservations?.memory);
  return out;
}

const MEMORY_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Docker memory size (`512m`, `2g`, `1073741824`) → bytes; undefined when malformed. */
export function dockerMemoryBytes(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([bkmg]?)$/i.exec(text.trim());
  if (m === null) return undefined;
  return Number(m[1]) * (MEMORY_UNITS[(m[2] as string).toLowerCase()] as number);
}

/** Devices named by an OVMS `target_device`: `MULTI:GPU.1,CPU` → `['GPU', 'CPU']`; bare `AUTO` → `['AUTO']`. */
export function ovmsDevices(targetDevice: string): string[] {
  const colon = targetDevice.indexOf(':');
  const list = colon < 0 ? targetDevice : targetDevice.slice(colon + 1);
  return [...new Set(list.split(',').map((d) => d.trim().replace(/\.\d+$/, '')))];
}
