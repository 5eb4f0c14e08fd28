import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Response } from 'express';
import { toBgError, toGrpcStatus, toHttpError, type BgError } from '@bundlegate/service-kit';
import { encodeGrpcMessage } from './grpc-wire';

// The one place where a failure the gateway detects becomes a response: a gRPC status
// (trailers-only, or trailers after a started response) or an HTTP error, always marked with
// `x-gateway-error: <code>` so clients tell the gateway's errors from the backend's.

export const GATEWAY_ERROR_HEADER = 'x-gateway-error';

export interface Rescued {
  readonly error: BgError;
  /** grpc-status, grpc-message, x-gateway-error and the registry's bg-error-* metadata. */
  readonly trailers: OutgoingHttpHeaders;
}

/** Any thrown value → the registry error and the gRPC trailers that carry it. */
export function rescue(err: unknown): Rescued {
  const error = toBgError(err);
  const status = toGrpcStatus(error);
  const trailers: OutgoingHttpHeaders = {
    ...status.metadata.toHttp2Headers(),
    'grpc-status': String(status.code),
    'grpc-message': encodeGrpcMessage(status.details),
    [GATEWAY_ERROR_HEADER]: error.code,
  };
  return { error, trailers };
}

/**
 * Ends a gRPC stream with the gateway's error: trailers-only when nothing was sent yet. When the
 * response already started the caller owns the stream and sends `rescued.trailers` as its trailers.
 */
export function respondTrailersOnly(stream: ServerHttp2Stream, rescued: Rescued): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...rescued.trailers }, { endStream: true });
}

/** The HTTP boundary: JSON `{"error": {...}}` with the registry's status and `x-gateway-error`. */
export function rescueHttp(res: Response, err: unknown): BgError {
  const error = toBgError(err);
  if (res.headersSent) {
    res.destroy(error);
    return error;
  }
  const { status, body } = toHttpError(error);
  res.status(status).setHeader(GATEWAY_ERROR_HEADER, error.code).json(body);
  return error;
}
