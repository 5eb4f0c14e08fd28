// @bundlegate/service-kit: what every Bundlegate service shares.

// ---- errors: one registry, one converter per protocol
export {
  ERRORS,
  BgError,
  bgError,
  isBgError,
  isErrorCode,
  toBgError,
  toHttpError,
} from './errors';
export { toGrpcStatus, fromGrpcError, GRPC_ERROR_CODE_KEY, GRPC_ERROR_DETAILS_KEY } from './errors-grpc';
export { GrpcCode } from './grpc-codes';
export type { ErrorCode, DetailsOf, DetailsArgs, BgErrorOptions, ErrorDetails, HttpError, JsonValue } from './errors';

// ---- config: flags > env > .env files > defaults, every problem reported at once
export {
  string,
  int,
  number,
  bool,
  oneOf,
  duration,
  bytes,
  list,
  url,
  hostPort,
  filePath,
  secret,
  positional,
  formatHostPort,
  parseHostPort,
  redactUrl,
  REDACTED,
} from './config-fields';
export type { Field, FieldKind, FieldBuilder, HostPort, ValueSource } from './config-fields';
export { loadConfig, configOrExit, describeConfig, helpText, wantsHelp, formatProblem, ConfigError } from './config';
export type { ConfigSpec, ConfigOf, ConfigProblem, LoadConfigOptions, ConfigOrExitOptions, HelpOptions } from './config';
export { parseDuration, formatDuration, parseByteSize, formatByteSize } from './config-units';

// ---- logging
export { createLogger, loggingSpec, LOG_LEVELS, SECRET_KEY_PATTERN, isSecretKey, scrubSecrets, redactUrlCredentials } from './logger';
export type { Logger, LoggerOptions, LogLevel } from './logger';

// ---- metrics
export { createMetrics, LATENCY_BUCKETS_SECONDS, SIZE_BUCKETS_BYTES } from './metrics';
export type { Metrics, MetricsOptions, MetricOptions } from './metrics';

// ---- health: one state behind /healthz, /readyz and grpc.health.v1
export { HealthState } from './health';
export type { HealthSnapshot, CheckState, HealthListener, HealthStateOptions } from './health';
export { createAdminHandler, sendHttpError, ADMIN_PATHS } from './health-http';
export type { AdminHandler, AdminHandlerOptions } from './health-http';
export { createGrpcHealth, addGrpcHealth } from './health-grpc';
export type { GrpcHealth, GrpcHealthOptions } from './health-grpc';

// ---- shutdown
export { installShutdown } from './shutdown';
export type { ShutdownOptions, ShutdownStep, ShutdownHandle } from './shutdown';

// ---- network helpers
export {
  listenHttp,
  bindGrpc,
  closeHttpServer,
  closeGrpcServer,
  grpcMessageLimits,
  DEFAULT_GRPC_MAX_MESSAGE_BYTES,
  requestId,
  REQUEST_ID_HEADER,
} from './net';
