import type { Response } from 'express';
import { toBgError, toGrpcStatus, toHttpError, type BgError } from '@bundlegate/service-kit';
import type { H2Stream } from './h2-connection';
import { encodeGrpcMessage } from './grpc-wire';

// The one place where a failure the gateway detects becomes a response: a gRPC status
// (trailers-only, or trailers after a started response) or an HTTP error, always marked with
// `x-gateway-error: <code>` so clients tell the gateway's errors from the backend's.

export const GATEWAY_ERROR_HEADER = 'x-gateway-error';

export interface Rescued {
  readonly error: BgError;
  /** gRPC trailers as name/value pairs: grpc-status, grpc-message, x-gateway-error and the registry's bg-error-* metadata. */
  readonly trailers: readonly string[];
}

/** Any thrown value → the registry error and the gRPC trailers that carry it. */
export function rescue(err: unknown): Rescued {
  const error = toBgError(err);
  const status = toGrpcStatus(error);
  const trailers: string[] = ['grpc-status', String(status.code), 'grpc-message', encodeGrpcMessage(status.details), GATEWAY_ERROR_HEADER, error.code];
  for (const [name, value] of Object.entries(status.metadata.toHttp2Headers())) {
    for (const v of Array.isArray(value) ? value : [value]) trailers.push(name, String(v));
  }
  return { error, trailers };
}

/** Answers a gRPC call that got no response bytes yet with the gateway's error, trailers-only. */
export function respondTrailersOnly(stream: H2Stream, rescued: Rescued): void {
  stream.sendHeaders([':status', '200', 'content-type', 'application/grpc', ...rescued.trailers], undefined, true);
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
