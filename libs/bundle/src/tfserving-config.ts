import type { TfServingBatching, TfServingMonitoring } from './engine-options';

// TF Serving's text-proto files: BatchingParameters (`--batching_parameters_file`) and MonitoringConfig
// (`--monitoring_config_file`), in the text format tensorflow_model_server parses.

/** TF Serving's default Prometheus path, used when `prometheus_config.path` is left out. */
export const TFS_PROMETHEUS_PATH = '/monitoring/prometheus/metrics';

// BatchingParameters fields that are google.protobuf wrappers (`{ value: N }`), in proto field order
const WRAPPED_FIELDS = ['max_batch_size', 'batch_timeout_micros', 'max_enqueued_batches', 'num_batch_threads', 'thread_pool_name'] as const;

function protoString(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** A BatchingParameters text proto: `max_batch_size { value: 32 }` …; empty for TF Serving's defaults. */
export function tfServingBatchingParameters(batching: TfServingBatching): string {
  const lines: string[] = [];
  for (const field of WRAPPED_FIELDS) {
    const value = batching[field];
    if (value !== undefined) lines.push(`${field} { value: ${typeof value === 'string' ? protoString(value) : value} }`);
  }
  for (const size of batching.allowed_batch_sizes ?? []) lines.push(`allowed_batch_sizes: ${size}`);
  if (batching.pad_variable_length_inputs !== undefined) lines.push(`pad_variable_length_inputs: ${batching.pad_variable_length_inputs}`);
  return lines.map((l) => `${l}\n`).join('');
}

/** A MonitoringConfig text proto: `prometheus_config { enable: true, path: "…" }`. */
export function tfServingMonitoringConfig(monitoring: TfServingMonitoring): string {
  const { enable, path } = monitoring.prometheus_config;
  return ['prometheus_config {', `  enable: ${enable}`, `  path: ${protoString(path ?? TFS_PROMETHEUS_PATH)}`, '}', ''].join('\n');
}
