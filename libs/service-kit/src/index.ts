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
  toGrpcStatus,
  fromGrpcError,
  GRPC_ERROR_CODE_KEY,
  GRPC_ERROR_DETAILS_KEY,
} from './errors';
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
