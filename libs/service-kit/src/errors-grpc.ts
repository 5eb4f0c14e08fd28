import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { BgError, bgError, ERRORS, isErrorCode, toBgError, type ErrorDetails } from './errors';

// The gRPC side of the error registry, apart from errors.ts so that a program that never speaks gRPC
// (model-download) does not load grpc-js through the registry.

/** Metadata keys carrying the registry code and details beside the gRPC status. */
export const GRPC_ERROR_CODE_KEY = 'bg-error-code';
export const GRPC_ERROR_DETAILS_KEY = 'bg-error-details-bin';

/** The one gRPC boundary: any thrown value → a grpc-js StatusObject (pass it to the callback or `call.emit('error')`). */
export function toGrpcStatus(err: unknown): StatusObject {
  const e = toBgError(err);
  const metadata = new Metadata();
  metadata.set(GRPC_ERROR_CODE_KEY, e.code);
  const { code: _code, message: _message, ...details } = e.toJSON();
  if (Object.keys(details).length > 0) metadata.set(GRPC_ERROR_DETAILS_KEY, Buffer.from(JSON.stringify(details)));
  return { code: e.grpcCode, details: e.message, metadata };
}

const UPSTREAM_REJECTIONS = new Set<GrpcStatus>([GrpcStatus.INVALID_ARGUMENT, GrpcStatus.OUT_OF_RANGE]);

/**
 * A failed upstream gRPC call → a BgError. A Bundlegate upstream's own code (metadata `bg-error-code`)
 * is kept with its message; otherwise the status decides: UNAVAILABLE, DEADLINE_EXCEEDED, a rejection
 * of the input (4xx), or BG_UPSTREAM_ERROR keeping the upstream's status name and message.
 */
export function fromGrpcError(err: Partial<ServiceError> & { code?: number }, context: { modelId?: string } = {}): BgError {
  const code = err.metadata?.get(GRPC_ERROR_CODE_KEY)[0];
  if (isErrorCode(code)) {
    const raw = err.metadata?.get(GRPC_ERROR_DETAILS_KEY)[0];
    let details: ErrorDetails = {};
    if (Buffer.isBuffer(raw)) {
      try {
        const parsed: unknown = JSON.parse(raw.toString('utf8'));
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) details = parsed as ErrorDetails;
      } catch {
        // unreadable details: the code and message still say what happened
      }
    }
    // details come from another process: keep its message rather than re-rendering from foreign data
    return new BgError(code, details as never, { cause: err, message: err.details ?? ERRORS.BG_INTERNAL.message({}) });
  }
  const upstreamStatus = GrpcStatus[err.code ?? GrpcStatus.UNKNOWN] ?? String(err.code);
  const upstreamMessage = err.details ?? err.message ?? '';
  const modelId = context.modelId;
  switch (err.code) {
    case GrpcStatus.UNAVAILABLE:
      return bgError('BG_UPSTREAM_UNAVAILABLE', { modelId }, { cause: err });
    case GrpcStatus.DEADLINE_EXCEEDED:
      return bgError('BG_UPSTREAM_TIMEOUT', { modelId }, { cause: err });
    default:
      if (err.code !== undefined && UPSTREAM_REJECTIONS.has(err.code)) {
        return bgError('BG_UPSTREAM_REJECTED', { modelId, upstreamStatus, upstreamMessage }, { cause: err });
      }
      return bgError('BG_UPSTREAM_ERROR', { modelId, upstreamStatus, upstreamMessage }, { cause: err });
  }
}
