import { pino, stdSerializers, stdTimeFunctions, type DestinationStream, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { bool, oneOf, REDACTED } from './config-fields';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Keys whose values are never logged, at any depth, matched after lower-casing and dropping "-"/"_":
 * passwords, secrets (`secretAccessKey`, `client_secret`), tokens (`x-amz-security-token`,
 * `AWS_SESSION_TOKEN`), access keys (`accessKeyId`, `RCLONE_S3_ACCESS_KEY_ID`), private keys (GCS
 * service-account `private_key`, `private_key_id`), credentials objects, API keys, authorization and
 * cookie headers, and model decryption keys. A bare `key` (an S3 object key) stays visible.
 */
export const SECRET_KEY_PATTERN =
  /password|passwd|passphrase|secret|token$|tokens$|apikey|accesskey|privatekey|credential|authorization|cookie|decryptionkey|encryptionkey/;

const secretKeyCache = new Map<string, boolean>();
const SECRET_KEY_CACHE_LIMIT = 10_000;

export function isSecretKey(key: string): boolean {
  let hit = secretKeyCache.get(key);
  if (hit === undefined) {
    hit = SECRET_KEY_PATTERN.test(key.toLowerCase().replace(/[-_]/g, ''));
    // keys logged are a small fixed set; the cap only guards against keys built from request data
    if (secretKeyCache.size < SECRET_KEY_CACHE_LIMIT) secretKeyCache.set(key, hit);
  }
  return hit;
}

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;

/** `https://user:pass@host` → `https://user:[redacted]@host` inside any string. */
export function redactUrlCredentials(text: string): string {
  return text.includes('@') && text.includes('://') ? text.replace(URL_CREDENTIALS, `$1${REDACTED}@`) : text;
}

const MAX_SCRUB_DEPTH = 8;

/**
 * A copy of `value` with secret-named keys redacted at any depth; the same object when nothing
 * needed redacting, so the common case allocates nothing.
 */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactUrlCredentials(value);
  if (value === null || typeof value !== 'object' || depth > MAX_SCRUB_DEPTH) return value;
  if (ArrayBuffer.isView(value) || value instanceof Date) return value;
  if (value instanceof URL) return redactUrlCredentials(value.href);
  // an Error's own fields (an HTTP client's request config, say) can hold credentials: serialize, then scrub
  if (value instanceof Error) return scrubSecrets(stdSerializers.err(value), depth);
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const v = scrubSecrets(value[i], depth + 1);
      if (v !== value[i]) (out ??= value.slice())[i] = v;
    }
    return out ?? value;
  }
  let out: Record<string, unknown> | undefined;
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    const v = obj[key];
    const scrubbed = isSecretKey(key) && v !== undefined && v !== null ? REDACTED : scrubSecrets(v, depth + 1);
    if (scrubbed !== v) (out ??= { ...obj })[key] = scrubbed;
  }
  return out ?? value;
}

export interface LoggerOptions {
  /** Service name, on every line as `service`. */
  readonly service: string;
  readonly level?: LogLevel;
  /** Human-readable lines instead of JSON (local runs only). */
  readonly pretty?: boolean;
  /** Where lines go (default stdout); tests pass a stream to read them back. */
  readonly destination?: DestinationStream;
}

/**
 * The service's root logger: JSON lines on stdout with `level` (as a word), ISO `time`, `service`,
 * and secrets redacted. Make `logger.child({ module })` once per module and
 * `log.child({ reqId, modelId })` once per request.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination =
    options.destination ??
    (options.pretty
      ? pinoPretty({ sync: true, colorize: process.stdout.isTTY === true, ignore: 'pid,hostname,service,module', messageFormat: '{if module}[{module}] {end}{msg}' })
      : // synchronous: pino's async stdout writer reorders lines on a pipe (a container's stdout), measured here
        pino.destination({ dest: 1, sync: true }));
  const root = pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service, pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        // pino's own wildcard `redact` paths match one level each and cost ~1 µs per path per line;
        // one walk by key name covers every depth for less
        log: (obj) => scrubSecrets(obj) as Record<string, unknown>,
      },
      // formatters.log has already serialized and scrubbed errors; pino's default would re-wrap them
      serializers: { err: (value: unknown) => (value instanceof Error ? scrubSecrets(value) : value) },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? redactUrlCredentials(a) : a)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
    },
    destination as DestinationStream,
  );
  // children are made with Object.create(parent), so every descendant inherits this scrubbing `child`
  const protoChild = root.child;
  root.child = function scrubbingChild(this: Logger, bindings, childOptions) {
    return protoChild.call(this, scrubSecrets(bindings) as typeof bindings, childOptions);
  } as Logger['child'];
  return root;
}

/** Flags and env variables every service uses for logging: `--log_level`, `--log_pretty`. */
export function loggingSpec(envPrefix: string) {
  return {
    logLevel: oneOf({ flag: 'log_level', env: `${envPrefix}_LOG_LEVEL`, values: LOG_LEVELS, default: 'info', help: 'Log level.' }),
    logPretty: bool({ flag: 'log_pretty', env: `${envPrefix}_LOG_PRETTY`, help: 'Human-readable log lines instead of JSON.' }),
  };
}
