import { GrpcCode } from './grpc-codes';

/** A value that survives JSON.stringify unchanged: details go to clients as JSON. */
export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Public, client-visible facts about an error. Internals belong in `cause`, never here. */
export type ErrorDetails = { readonly [key: string]: JsonValue | undefined };

/** Nothing to add beyond the code. */
type NoDetails = Record<never, never>;

interface ErrorDef<D extends ErrorDetails> {
  readonly http: number;
  readonly grpc: GrpcCode;
  readonly message: (details: D) => string;
}

function def<D extends ErrorDetails = NoDetails>(
  http: number,
  grpc: GrpcCode,
  message: (details: D) => string,
): ErrorDef<D> {
  return { http, grpc, message };
}

const MAX_LISTED = 20;

/** `a, b, c` — capped so an error about a huge bundle stays readable. */
function listOf(items: readonly string[] | undefined): string {
  if (!items || items.length === 0) return '(none)';
  const shown = items.slice(0, MAX_LISTED).join(', ');
  return items.length > MAX_LISTED ? `${shown}, … (${items.length} in all)` : shown;
}

function show(value: JsonValue | undefined): string {
  return typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? 'nothing';
}

/**
 * Every error Bundlegate can make. Adding one = adding one entry here and one row in docs/errors.md
 * (a test keeps the two in step). Codes are stable: clients match on them, never on messages.
 */
export const ERRORS = {
  // startup / configuration
  BG_CONFIG_INVALID: def<{ problems: readonly string[] }>(500, GrpcCode.INTERNAL, (d) =>
    `invalid configuration (${d.problems.length} problem${d.problems.length === 1 ? '' : 's'}): ${d.problems.join('; ')}`,
  ),
  BG_BUNDLE_INVALID: def<{ file?: string; problems: readonly string[] }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `invalid bundle${d.file ? ` ${d.file}` : ''}: ${d.problems.join('; ')}`,
  ),

  // routing
  BG_UNKNOWN_MODEL: def<{ modelId: string; known?: readonly string[] }>(404, GrpcCode.NOT_FOUND, (d) =>
    `unknown model ${show(d.modelId)}${d.known ? `; known models: ${listOf(d.known)}` : ''}`,
  ),
  BG_UNKNOWN_VERSION: def<{ modelId: string; version: string; known?: readonly string[] }>(
    404,
    GrpcCode.NOT_FOUND,
    (d) => `model ${show(d.modelId)} has no version ${show(d.version)}${d.known ? `; available: ${listOf(d.known)}` : ''}`,
  ),
  BG_MISSING_MODEL_ID: def(400, GrpcCode.INVALID_ARGUMENT, () =>
    'no model id: name the model in the URL path or in the "model-id" header (HTTP) / metadata (gRPC)',
  ),
  BG_NOT_FOUND: def<{ method?: string; path: string }>(404, GrpcCode.UNIMPLEMENTED, (d) =>
    `no route for ${d.method ? `${d.method} ` : ''}${d.path}`,
  ),
  BG_METHOD_NOT_ALLOWED: def<{ method: string; path: string; allowed: readonly string[] }>(
    405,
    GrpcCode.UNIMPLEMENTED,
    (d) => `method ${d.method} is not allowed on ${d.path}; use ${listOf(d.allowed)}`,
  ),

  // request validation: always the client's to fix, never a 5xx
  BG_INVALID_ARGUMENT: def<{ field: string; expected: string; got?: JsonValue }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `invalid ${d.field}: expected ${d.expected}${d.got === undefined ? '' : `, got ${show(d.got)}`}`,
  ),
  BG_INVALID_JSON: def<{ reason?: string }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `request body is not valid JSON${d.reason ? `: ${d.reason}` : ''}`,
  ),
  BG_MISSING_INPUT: def<{ field: string; expected?: string }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `missing input ${show(d.field)}${d.expected ? `; expected ${d.expected}` : ''}`,
  ),
  BG_UNEXPECTED_INPUT: def<{ field: string; expected?: string }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `unexpected input ${show(d.field)}${d.expected ? `; expected ${d.expected}` : ''}`,
  ),
  BG_INVALID_INPUT_TYPE: def<{ field: string; expected: string; got?: string }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `input ${show(d.field)} has the wrong type: expected ${d.expected}${d.got ? `, got ${d.got}` : ''}`,
  ),
  BG_INVALID_SHAPE: def<{ field: string; expected: string; got: readonly number[] | string }>(
    400,
    GrpcCode.INVALID_ARGUMENT,
    (d) => `input ${show(d.field)} has shape ${typeof d.got === 'string' ? d.got : `[${d.got.join(', ')}]`}; expected ${d.expected}`,
  ),
  BG_INVALID_DTYPE: def<{ field: string; expected: string; got: string }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `input ${show(d.field)} has datatype ${d.got}; expected ${d.expected}`,
  ),
  BG_INVALID_BYTE_SIZE: def<{ field: string; expected: number; got: number }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `input ${show(d.field)} has ${d.got} bytes of data; its shape and datatype need ${d.expected}`,
  ),
  BG_BAD_BASE64: def<{ field: string }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `input ${show(d.field)} is not valid base64 (or a data: URL holding base64)`,
  ),
  BG_IMAGE_DECODE: def<{ field: string; reason?: string }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `input ${show(d.field)} is not a decodable image${d.reason ? `: ${d.reason}` : ''}`,
  ),
  // 400, not 413: the limit is on decoded pixels, not on the body; 413 stays BG_BODY_TOO_LARGE's alone
  BG_IMAGE_TOO_LARGE: def<{ field: string; width: number; height: number; maxPixels: number }>(
    400,
    GrpcCode.INVALID_ARGUMENT,
    (d) => `input ${show(d.field)} is a ${d.width}x${d.height} image; at most ${d.maxPixels} pixels are accepted`,
  ),
  BG_BODY_TOO_LARGE: def<{ limit?: number }>(413, GrpcCode.RESOURCE_EXHAUSTED, (d) =>
    `request body is too large${d.limit === undefined ? '' : `; the limit is ${d.limit} bytes`}`,
  ),
  BG_UNSUPPORTED_MEDIA_TYPE: def<{ expected: string; got?: string }>(415, GrpcCode.INVALID_ARGUMENT, (d) =>
    `unsupported content type ${d.got ? show(d.got) : '(none)'}; expected ${d.expected}`,
  ),

  // serving / upstream
  BG_MODEL_NOT_READY: def<{ modelId: string; reason?: string }>(503, GrpcCode.UNAVAILABLE, (d) =>
    `model ${show(d.modelId)} is not ready${d.reason ? `: ${d.reason}` : ''}`,
  ),
  BG_NO_HEALTHY_ENDPOINT: def<{ modelId: string }>(503, GrpcCode.UNAVAILABLE, (d) =>
    `no healthy endpoint serves model ${show(d.modelId)}`,
  ),
  BG_UPSTREAM_UNAVAILABLE: def<{ modelId?: string }>(503, GrpcCode.UNAVAILABLE, (d) =>
    `the backend${d.modelId ? ` for model ${show(d.modelId)}` : ''} is unavailable`,
  ),
  BG_UPSTREAM_TIMEOUT: def<{ modelId?: string; timeoutMs?: number }>(504, GrpcCode.DEADLINE_EXCEEDED, (d) =>
    `the backend${d.modelId ? ` for model ${show(d.modelId)}` : ''} did not answer${
      d.timeoutMs === undefined ? ' in time' : ` within ${d.timeoutMs} ms`
    }`,
  ),
  // the backend judged the request invalid: the client's to fix, so 4xx
  BG_UPSTREAM_REJECTED: def<{ modelId?: string; upstreamStatus: number | string; upstreamMessage: string }>(
    400,
    GrpcCode.INVALID_ARGUMENT,
    (d) => `the backend rejected the request (${d.upstreamStatus}): ${d.upstreamMessage}`,
  ),
  BG_UPSTREAM_ERROR: def<{ modelId?: string; upstreamStatus: number | string; upstreamMessage: string }>(
    502,
    GrpcCode.UNKNOWN,
    (d) => `the backend failed (${d.upstreamStatus}): ${d.upstreamMessage}`,
  ),
  BG_INFERENCE_FAILED: def<{ modelId: string }>(500, GrpcCode.INTERNAL, (d) =>
    `inference failed for model ${show(d.modelId)}`,
  ),
  BG_SHUTTING_DOWN: def(503, GrpcCode.UNAVAILABLE, () => 'the service is shutting down; retry on another instance'),
  BG_INTERNAL: def(500, GrpcCode.INTERNAL, () => 'internal error'),

  // model download / files
  BG_DOWNLOAD_FAILED: def<{ source: string; modelId?: string; reason: string }>(502, GrpcCode.UNAVAILABLE, (d) =>
    `download${d.modelId ? ` of model ${show(d.modelId)}` : ''} from ${d.source} failed: ${d.reason}`,
  ),
  BG_CHECKSUM_MISMATCH: def<{ file: string; expected: string; got: string }>(502, GrpcCode.DATA_LOSS, (d) =>
    `checksum mismatch for ${d.file}: expected ${d.expected}, got ${d.got}`,
  ),
  BG_UNSAFE_KEY: def<{ key: string }>(400, GrpcCode.INVALID_ARGUMENT, (d) =>
    `refusing object key ${show(d.key)}: it would land outside the model directory`,
  ),
  BG_DECRYPTION_FAILED: def<{ file: string; reason: string }>(500, GrpcCode.DATA_LOSS, (d) =>
    `cannot decrypt ${d.file}: ${d.reason}`,
  ),
} as const;

export type ErrorCode = keyof typeof ERRORS;
// every code is spelled BG_…: a misnamed entry fails to compile here
const _codesArePrefixed: readonly `BG_${string}`[] = Object.keys(ERRORS) as ErrorCode[];
void _codesArePrefixed;
export type DetailsOf<C extends ErrorCode> = (typeof ERRORS)[C] extends ErrorDef<infer D> ? D : never;

/** Details may be left out when every field of the code's details is optional. */
export type DetailsArgs<C extends ErrorCode> =
  NoDetails extends DetailsOf<C>
    ? [details?: DetailsOf<C>, options?: BgErrorOptions]
    : [details: DetailsOf<C>, options?: BgErrorOptions];

export interface BgErrorOptions {
  /** The internal error behind this one: logged, never sent to clients. */
  readonly cause?: unknown;
  /** Keep a message made elsewhere (an upstream's own words) instead of rendering the template. */
  readonly message?: string;
}

const RESERVED_DETAIL_KEYS = new Set(['code', 'message']);

export class BgError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'BgError';
  readonly code: C;
  readonly httpStatus: number;
  readonly grpcCode: GrpcCode;
  readonly details: DetailsOf<C>;

  constructor(code: C, ...[details, options]: DetailsArgs<C>) {
    const entry = ERRORS[code] as ErrorDef<DetailsOf<C>>;
    const d = (details ?? {}) as DetailsOf<C>;
    super(options?.message ?? entry.message(d), options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.httpStatus = entry.http;
    this.grpcCode = entry.grpc;
    this.details = d;
  }

  /** Plain-JSON form used by loggers and by `toHttpError`: code, message, then public details. */
  toJSON(): { code: C; message: string } & ErrorDetails {
    const out: { code: C; message: string } & Record<string, JsonValue | undefined> = { code: this.code, message: this.message };
    for (const [key, value] of Object.entries(this.details as ErrorDetails)) {
      if (value !== undefined && !RESERVED_DETAIL_KEYS.has(key)) out[key] = value;
    }
    return out;
  }
}

/** The typed way to make an error: `throw bgError('BG_UNKNOWN_MODEL', { modelId, known })`. */
export function bgError<C extends ErrorCode>(code: C, ...args: DetailsArgs<C>): BgError<C> {
  return new BgError(code, ...args);
}

export function isBgError(value: unknown): value is BgError {
  return value instanceof BgError;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** body-parser (express.json/raw/text) error types that mean the client sent something wrong. */
function fromBodyParser(err: unknown): BgError | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { type, limit } = err as { type?: unknown; limit?: unknown };
  switch (type) {
    case 'entity.too.large':
      return bgError('BG_BODY_TOO_LARGE', typeof limit === 'number' ? { limit } : {}, { cause: err });
    case 'entity.parse.failed':
      return bgError('BG_INVALID_JSON', {}, { cause: err });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return bgError('BG_UNSUPPORTED_MEDIA_TYPE', { expected: 'utf-8 text' }, { cause: err });
    default:
      return undefined;
  }
}

/**
 * Anything thrown → a BgError. Registry errors pass through; body-parser's client errors map to their
 * codes; everything else becomes BG_INTERNAL with the original kept as `cause` (for the log only).
 */
export function toBgError(err: unknown): BgError {
  if (err instanceof BgError) return err;
  return fromBodyParser(err) ?? bgError('BG_INTERNAL', {}, { cause: err });
}

export interface HttpError {
  readonly status: number;
  readonly body: { readonly error: { readonly code: ErrorCode; readonly message: string } & ErrorDetails };
}

/** The one HTTP boundary: any thrown value → status + `{"error": {"code", "message", ...details}}`. */
export function toHttpError(err: unknown): HttpError {
  const e = toBgError(err);
  return { status: e.httpStatus, body: { error: e.toJSON() } };
}
