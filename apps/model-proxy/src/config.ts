import {
  bool,
  bytes,
  DEFAULT_GRPC_MAX_MESSAGE_BYTES,
  duration,
  filePath,
  hostPort,
  int,
  loggingSpec,
  oneOf,
  string,
  type ConfigOf,
} from '@bundlegate/service-kit';
import { DEFAULT_MAX_IMAGE_PIXELS } from '@bundlegate/tensors';

/** Every setting of the model proxy: flag, environment variable, default. */
export const MODEL_PROXY_CONFIG = {
  signature: filePath({
    flag: 'signature',
    env: 'MODEL_PROXY_SIGNATURE',
    mustExist: 'file',
    required: true,
    help: 'bundle-signature.yaml to serve (the existing-deployment shape, plus Bundlegate additions).',
  }),
  targetBundle: string({
    flag: 'target_bundle',
    env: 'MODEL_PROXY_TARGET_BUNDLE',
    help: 'Serve only this bundle of the signature (its name under models:), as --target-bundle in existing deployments.',
  }),
  backend: oneOf({
    flag: 'backend',
    env: 'MODEL_PROXY_BACKEND',
    values: ['gateway', 'in-process'],
    default: 'gateway',
    help: 'gateway: call models through the gateway by model-id; in-process: run them inside the proxy (single container).',
  }),
  gateway: hostPort({ flag: 'gateway', env: 'MODEL_PROXY_GATEWAY', default: '127.0.0.1:8080', help: 'Gateway gRPC address (host:port).' }),
  gatewayTls: bool({ flag: 'gateway_tls', env: 'MODEL_PROXY_GATEWAY_TLS', help: 'Speak TLS to the gateway.' }),
  gatewayCa: filePath({ flag: 'gateway_ca', env: 'MODEL_PROXY_GATEWAY_CA', mustExist: 'file', help: 'PEM CA bundle to verify the gateway (default: system roots).' }),
  gatewayCert: filePath({ flag: 'gateway_cert', env: 'MODEL_PROXY_GATEWAY_CERT', mustExist: 'file', help: 'PEM client certificate for mutual TLS.' }),
  gatewayKey: filePath({ flag: 'gateway_key', env: 'MODEL_PROXY_GATEWAY_KEY', mustExist: 'file', help: 'PEM client key for mutual TLS.' }),
  gatewayServerName: string({ flag: 'gateway_server_name', env: 'MODEL_PROXY_GATEWAY_SERVER_NAME', help: "Name to check the gateway's certificate against." }),
  modelsDir: filePath({ flag: 'models_dir', env: 'MODEL_PROXY_MODELS_DIR', mustExist: 'dir', help: 'Model repository (<dir>/<id>/<version>/) for --backend in-process.' }),
  host: string({ flag: 'host', env: 'MODEL_PROXY_HOST', default: '0.0.0.0', help: 'Address to listen on (HTTP and gRPC).' }),
  httpPort: int({ flag: 'http_port', env: 'MODEL_PROXY_HTTP_PORT', min: 0, max: 65535, default: 8000, help: 'HTTP API port.' }),
  grpcPort: int({ flag: 'grpc_port', env: 'MODEL_PROXY_GRPC_PORT', min: 0, max: 65535, default: 8005, help: 'gRPC API port.' }),
  deadline: duration({ flag: 'deadline', env: 'MODEL_PROXY_DEADLINE', min: 1, default: '30s', help: 'Deadline of each backend call.' }),
  maxMessageBytes: bytes({
    flag: 'max_message_bytes',
    env: 'MODEL_PROXY_MAX_MESSAGE_BYTES',
    min: 4096,
    default: DEFAULT_GRPC_MAX_MESSAGE_BYTES,
    help: 'Largest gRPC message, served and sent to the gateway.',
  }),
  maxBodyBytes: bytes({ flag: 'max_body_bytes', env: 'MODEL_PROXY_MAX_BODY_BYTES', min: 1024, default: DEFAULT_GRPC_MAX_MESSAGE_BYTES, help: 'Largest HTTP request body.' }),
  maxImagePixels: int({
    flag: 'max_image_pixels',
    env: 'MODEL_PROXY_MAX_IMAGE_PIXELS',
    min: 1,
    default: DEFAULT_MAX_IMAGE_PIXELS,
    help: 'Largest image (width × height) accepted when the signature sets no maxPixels.',
  }),
  modelPollInterval: duration({ flag: 'model_poll_interval', env: 'MODEL_PROXY_MODEL_POLL_INTERVAL', min: 0, default: '1s', help: 'In-process: how often the model repository is rescanned for new versions (0: never).' }),
  readinessInterval: duration({ flag: 'readiness_interval', env: 'MODEL_PROXY_READINESS_INTERVAL', min: 100, default: '2s', help: 'How often the gateway and models are probed.' }),
  drainTimeout: duration({ flag: 'drain_timeout', env: 'MODEL_PROXY_DRAIN_TIMEOUT', min: 0, default: '20s', help: 'Time in-flight requests get to finish on shutdown.' }),
  ...loggingSpec('MODEL_PROXY'),
};

export type ModelProxyConfig = ConfigOf<typeof MODEL_PROXY_CONFIG>;

/** Checks across settings, reported with the rest. */
export function crossCheckConfig(config: ModelProxyConfig): string[] {
  const problems: string[] = [];
  if (config.backend === 'in-process' && config.modelsDir === undefined) problems.push('--backend in-process needs --models_dir / MODEL_PROXY_MODELS_DIR');
  if ((config.gatewayCert === undefined) !== (config.gatewayKey === undefined)) problems.push('--gateway_cert and --gateway_key go together');
  if (!config.gatewayTls && (config.gatewayCa ?? config.gatewayCert ?? config.gatewayServerName) !== undefined) {
    problems.push('--gateway_ca / --gateway_cert / --gateway_server_name need --gateway_tls');
  }
  return problems;
}
