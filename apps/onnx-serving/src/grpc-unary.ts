import type { ServerErrorResponse } from '@grpc/grpc-js';
import { toGrpcStatus } from '@bundlegate/service-kit';

/** The error form grpc-js callbacks and `emit('error')` take, from any thrown value. */
export function grpcError(err: unknown): ServerErrorResponse {
  const status = toGrpcStatus(err);
  return Object.assign(new Error(status.details), status);
}

/** A unary handler from an async function: every throw becomes a status through the one converter. */
export function unary<Req, Res>(
  handle: (request: Req) => Promise<Res> | Res,
): (call: { request: Req }, callback: (err: ServerErrorResponse | null, value?: Res) => void) => void {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handle(call.request))
      .then(
        (value) => callback(null, value),
        (err: unknown) => callback(grpcError(err)),
      );
  };
}
