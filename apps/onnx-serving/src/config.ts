import { availableParallelism } from 'node:os';
import {
  parseVersionPolicy,
  readServingConfig,
  ServingConfigError,
  singleModelConfig,
  type PluginConfig,
  type ServingConfig,
  type VersionPolicy,
} from '@bundlegate/model-runtime';
import { bool, bytes, duration, filePath, int, oneOf, string, type ConfigOf, type LogLevel } from '@bundlegate/service-kit';
import type { OnnxServingOptions } from './server';

// Settings, named as OVMS names its flags (`--model_path`, `--rest_port`, …); every flag has an ONNX_SERVING_* variable.

export const SERVICE = 'onnx-serving';

/** OVMS's log level words (TRACE, DEBUG, INFO, WARNING, ERROR) and pino's, matched case-insensitively. */
const LOG_LEVEL_WORDS = ['trace', 'debug', 'info', 'warning', 'warn', 'error', 'fatal', 'silent'] as const;

export const configSpec = {
  configPath: filePath({
    flag: 'config_path',
    env: 'ONNX_SERVING_CONFIG_PATH',
    mustExist: 'file',
    help: 'OVMS config.json with "model_config_list"; re-read every poll. Use instead of --model_path/--model_name.',
  }),
  modelPath: filePath({ flag: 'model_path', env: 'ONNX_SERVING_MODEL_PATH', help: 'Directory holding <version>/model.onnx for the one model to serve.' }),
  modelName: string({ flag: 'model_name', env: 'ONNX_SERVING_MODEL_NAME', help: 'Name to serve the --model_path model under.' }),
  modelVersionPolicy: string({
    flag: 'model_version_policy',
    env: 'ONNX_SERVING_MODEL_VERSION_POLICY',
    help: 'Version policy of the --model_path model as JSON: {"latest": {"num_versions": 1}} (default), {"specific": {"versions": [1]}}, {"all": {}}.',
  }),
  nireq: int({ flag: 'nireq', env: 'ONNX_SERVING_NIREQ', min: 1, max: 256, help: 'Parallel inference sessions of the --model_path model (default: one per core).' }),
  pluginConfig: string({
    flag: 'plugin_config',
    env: 'ONNX_SERVING_PLUGIN_CONFIG',
    help: 'Session settings of the --model_path model as JSON, e.g. {"PERFORMANCE_HINT": "LATENCY"} or {"intra_op_num_threads": 2}.',
  }),
  targetDevice: oneOf({ flag: 'target_device', env: 'ONNX_SERVING_TARGET_DEVICE', values: ['CPU'], default: 'CPU', help: 'Device to run on; ONNX Runtime CPU only.' }),
  port: int({ flag: 'port', env: 'ONNX_SERVING_GRPC_PORT', default: 9000, min: 0, max: 65535, help: 'gRPC port (0 = any free port).' }),
  restPort: int({ flag: 'rest_port', env: 'ONNX_SERVING_REST_PORT', default: 8001, min: 0, max: 65535, help: 'REST port (0 = any free port).' }),
  grpcBindAddress: string({ flag: 'grpc_bind_address', env: 'ONNX_SERVING_GRPC_BIND_ADDRESS', default: '0.0.0.0', help: 'Address the gRPC port binds.' }),
  restBindAddress: string({ flag: 'rest_bind_address', env: 'ONNX_SERVING_REST_BIND_ADDRESS', default: '0.0.0.0', help: 'Address the REST port binds.' }),
  fileSystemPollWaitSeconds: int({
    flag: 'file_system_poll_wait_seconds',
    env: 'ONNX_SERVING_FILE_SYSTEM_POLL_WAIT_SECONDS',
    default: 1,
    min: 0,
    max: 86_400,
    help: 'Seconds between checks of config.json and the model directories for changes (0 = never).',
  }),
  grpcMaxMessageSize: bytes({
    flag: 'grpc_max_message_size',
    env: 'ONNX_SERVING_GRPC_MAX_MESSAGE_SIZE',
    default: '100MiB',
    min: 4096,
    max: 2 ** 31 - 1,
    help: 'Largest gRPC message received or sent.',
  }),
  grpcFlowControlWindow: bytes({
    flag: 'grpc_flow_control_window',
    env: 'ONNX_SERVING_GRPC_FLOW_CONTROL_WINDOW',
    default: '8MiB',
    min: 0,
    max: 2 ** 31 - 1,
    help: 'HTTP/2 receive window per gRPC stream and connection (0 = HTTP/2\'s 64 KiB): large tensors arrive without waiting for window updates.',
  }),
  restMaxBodySize: bytes({ flag: 'rest_max_body_size', env: 'ONNX_SERVING_REST_MAX_BODY_SIZE', default: '100MiB', min: 4096, help: 'Largest REST request body.' }),
  maxImagePixels: int({
    flag: 'max_image_pixels',
    env: 'ONNX_SERVING_MAX_IMAGE_PIXELS',
    default: 40_000_000,
    min: 1,
    help: 'Largest encoded image (width × height) decoded for an image input.',
  }),
  drainTimeout: duration({ flag: 'drain_timeout', env: 'ONNX_SERVING_DRAIN_TIMEOUT', default: '30s', min: 0, help: 'On SIGTERM, how long requests in flight may take to finish.' }),
  logLevel: oneOf({ flag: 'log_level', env: 'ONNX_SERVING_LOG_LEVEL', values: LOG_LEVEL_WORDS, default: 'info', help: 'Log level (OVMS names: TRACE, DEBUG, INFO, WARNING, ERROR).' }),
  logPretty: bool({ flag: 'log_pretty', env: 'ONNX_SERVING_LOG_PRETTY', help: 'Human-readable log lines instead of JSON.' }),
};

export type OnnxServingConfig = ConfigOf<typeof configSpec>;

export function logLevelOf(config: OnnxServingConfig): LogLevel {
  return config.logLevel === 'warning' ? 'warn' : config.logLevel;
}

/** Cross-flag checks: one model source, and the single-model flags only with it. */
export function validateConfig(config: OnnxServingConfig): string[] {
  const problems: string[] = [];
  const single = config.modelPath !== undefined || config.modelName !== undefined;
  if (config.configPath !== undefined && single) problems.push('--config_path and --model_path/--model_name exclude each other: use one');
  if (config.configPath === undefined && !single) problems.push('nothing to serve: set --config_path, or --model_path with --model_name');
  if (config.configPath === undefined && single && (config.modelPath === undefined || config.modelName === undefined)) {
    problems.push('--model_path and --model_name go together: set both');
  }
  if (config.configPath !== undefined) {
    for (const [flag, value] of [['--model_version_policy', config.modelVersionPolicy], ['--nireq', config.nireq], ['--plugin_config', config.pluginConfig]] as const) {
      if (value !== undefined) problems.push(`${flag} applies to --model_path; with --config_path set it in config.json`);
    }
  }
  return problems;
}

function parseJsonFlag(flag: string, text: string | undefined, problems: string[]): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    problems.push(`${flag} is not JSON: ${JSON.stringify(text)}`);
    return undefined;
  }
}

/** The models to serve and everything startOnnxServing needs; throws ServingConfigError listing every problem. */
export async function resolveServing(config: OnnxServingConfig): Promise<OnnxServingOptions> {
  const cpus = availableParallelism();
  let serving: ServingConfig;
  let configText: string | undefined;
  if (config.configPath !== undefined) {
    const read = await readServingConfig(config.configPath, cpus);
    serving = read.config;
    configText = read.text;
  } else {
    const problems: string[] = [];
    const policyJson = parseJsonFlag('--model_version_policy', config.modelVersionPolicy, problems);
    let versionPolicy: VersionPolicy | undefined;
    if (policyJson !== undefined) {
      const parsed = parseVersionPolicy(policyJson, '--model_version_policy');
      if (Array.isArray(parsed)) problems.push(...parsed);
      else versionPolicy = parsed;
    }
    const pluginJson = parseJsonFlag('--plugin_config', config.pluginConfig, problems);
    if (pluginJson !== undefined && (pluginJson === null || typeof pluginJson !== 'object' || Array.isArray(pluginJson))) {
      problems.push('--plugin_config must be a JSON object');
    }
    if (problems.length > 0) throw new ServingConfigError(problems);
    serving = singleModelConfig(
      { name: config.modelName ?? '', basePath: config.modelPath ?? '', versionPolicy, nireq: config.nireq, pluginConfig: pluginJson as PluginConfig | undefined },
      // --model_path is absolute already (the path field resolves it against the working directory)
      { baseDir: process.cwd(), cpus },
    );
  }
  return {
    serving,
    configFile: config.configPath,
    configText,
    pollIntervalMs: config.fileSystemPollWaitSeconds * 1000,
    grpc: { host: config.grpcBindAddress, port: config.port, maxMessageBytes: config.grpcMaxMessageSize, flowControlWindow: config.grpcFlowControlWindow },
    rest: { host: config.restBindAddress, port: config.restPort, maxBodyBytes: config.restMaxBodySize },
    maxImagePixels: config.maxImagePixels,
    cpus,
  };
}
