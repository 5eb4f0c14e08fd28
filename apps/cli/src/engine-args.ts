import type { OnnxServingOptions, OvmsOptions, TfServingOptions, TritonOptions } from '@bundlegate/bundle';

// Server flags from a model's engine options, spelled as each server's documentation spells them:
// OVMS and onnx-serving `--flag value`, Triton and TF Serving `--flag=value`.

type FlagValue = string | number | boolean;

function spaced(options: object, keys: readonly string[]): string[] {
  const values = options as Record<string, FlagValue | undefined>;
  return keys.flatMap((key) => (values[key] === undefined ? [] : [`--${key}`, String(values[key])]));
}

/** OVMS server flags (model settings go into config.json, metrics into its `monitoring`). */
export const OVMS_SERVER_FLAGS = [
  'file_system_poll_wait_seconds',
  'sequence_cleaner_poll_wait_minutes',
  'grpc_workers',
  'rest_workers',
  'log_level',
  'log_path',
  'cache_dir',
  'cpu_extension',
] as const satisfies readonly (keyof OvmsOptions)[];

export function ovmsServerArgs(options: OvmsOptions): string[] {
  return spaced(options, OVMS_SERVER_FLAGS);
}

/** onnx-serving server flags (model settings go into config.json). */
export const ONNX_SERVING_SERVER_FLAGS = [
  'file_system_poll_wait_seconds',
  'log_level',
  'grpc_max_message_size',
  'rest_max_body_size',
  'max_image_pixels',
  'drain_timeout',
] as const satisfies readonly (keyof OnnxServingOptions)[];

export function onnxServingServerArgs(options: OnnxServingOptions): string[] {
  return spaced(options, ONNX_SERVING_SERVER_FLAGS);
}

// Triton flags written as `--name=value`, in the order the generated command lists them
const TRITON_PLAIN_FLAGS = [
  'strict-readiness',
  'exit-on-error',
  'metrics-port',
  'allow-metrics',
  'allow-gpu-metrics',
  'allow-cpu-metrics',
  'metrics-interval-ms',
  'log-verbose',
  'log-info',
  'log-warning',
  'log-error',
  'log-format',
  'http-thread-count',
  'model-load-thread-count',
  'pinned-memory-pool-byte-size',
  'exit-timeout-secs',
  'rate-limit',
  'buffer-manager-thread-count',
] as const satisfies readonly (keyof TritonOptions)[];

/**
 * Triton's model control and server flags. `explicit` (the default) loads only this model, so a
 * shared repository serves one model per server; `poll` and `none` load every model under it.
 */
export function tritonArgs(options: TritonOptions, modelId: string): { control: string[]; server: string[] } {
  const mode = options['model-control-mode'] ?? 'explicit';
  const control = [`--model-control-mode=${mode}`];
  if (mode === 'explicit') control.push(`--load-model=${modelId}`);
  if (options['repository-poll-secs'] !== undefined) control.push(`--repository-poll-secs=${options['repository-poll-secs']}`);
  const server: string[] = [];
  const values = options as Record<string, FlagValue | undefined>;
  for (const key of TRITON_PLAIN_FLAGS) if (values[key] !== undefined) server.push(`--${key}=${String(values[key])}`);
  for (const [backend, settings] of Object.entries(options['backend-config'] ?? {})) {
    for (const [setting, value] of Object.entries(settings)) server.push(`--backend-config=${backend},${setting}=${value}`);
  }
  for (const [gpu, bytes] of Object.entries(options['cuda-memory-pool-byte-size'] ?? {})) server.push(`--cuda-memory-pool-byte-size=${gpu}:${bytes}`);
  return { control, server };
}

const TFS_PLAIN_FLAGS = [
  'tensorflow_intra_op_parallelism',
  'tensorflow_inter_op_parallelism',
  'tensorflow_session_parallelism',
  'grpc_max_threads',
  'enable_model_warmup',
  'num_request_iterations_for_warmup',
  'file_system_poll_wait_seconds',
  'rest_api_num_threads',
  'rest_api_timeout_in_ms',
  'rest_api_enable_cors_support',
  'max_num_load_retries',
  'load_retry_interval_micros',
  'num_load_threads',
  'num_unload_threads',
  'flush_filesystem_caches',
  'per_process_gpu_memory_fraction',
  'xla_cpu_compilation_enabled',
  'enable_signature_method_name_check',
  'remove_unused_fields_from_bundle_metagraph',
] as const satisfies readonly (keyof TfServingOptions)[];

/** TF Serving flags; `files` are where its batching and monitoring files are mounted. */
export function tfServingArgs(options: TfServingOptions, files: { batching: string; monitoring: string }): string[] {
  const args: string[] = [];
  if (options.batching !== undefined) args.push('--enable_batching=true', `--batching_parameters_file=${files.batching}`);
  if (options.monitoring !== undefined) args.push(`--monitoring_config_file=${files.monitoring}`);
  const values = options as Record<string, FlagValue | undefined>;
  for (const key of TFS_PLAIN_FLAGS) if (values[key] !== undefined) args.push(`--${key}=${String(values[key])}`);
  if (options.grpc_channel_arguments !== undefined) {
    args.push(
      `--grpc_channel_arguments=${Object.entries(options.grpc_channel_arguments)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}`,
    );
  }
  if (options.saved_model_tags !== undefined) args.push(`--saved_model_tags=${options.saved_model_tags.join(',')}`);
  return args;
}

/** The flag an argument sets: `--port=1` and `--port` → `--port`; not a flag → undefined. */
export function flagName(arg: string): string | undefined {
  if (!arg.startsWith('-')) return undefined;
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}
