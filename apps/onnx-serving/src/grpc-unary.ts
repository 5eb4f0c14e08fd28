import type { Metadata, ServerErrorResponse } from '@grpc/grpc-js';
import { REQUEST_ID_HEADER, toGrpcStatus } from '@bundlegate/service-kit';
import { isMalformed, malformedError } from './grpc-malformed';

/** The error form grpc-js callbacks and `emit('error')` take, from any thrown value. */
export function grpcError(err: unknown): ServerErrorResponse {
  const status = toGrpcStatus(err);
  return Object.assign(new Error(status.details), status);
}

/** The caller's `x-request-id` metadata value, if it sent a string one. */
export function requestIdOf(metadata: Metadata | undefined): string | undefined {
  const value = metadata?.get(REQUEST_ID_HEADER)[0];
  return typeof value === 'string' ? value : undefined;
}

/** A unary handler from an async function: every throw becomes a status through the one converter. */
export function unary<Req, Res>(
  handle: (request: Req, requestId: string | undefined) => Promise<Res> | Res,
): (call: { request: Req; metadata?: Metadata }, callback: (err: ServerErrorResponse | null, value?: Res) => void) => void {
  return (call, callback) => {
    if (isMalformed(call.request)) {
      callback(grpcError(malformedError(call.request)));
      return;
    }
    Promise.resolve()
      .then(() => handle(call.request, requestIdOf(call.metadata)))
      .then(
        (value) => callback(null, value),
        (err: unknown) => callback(grpcError(err)),
      );
  };
}
