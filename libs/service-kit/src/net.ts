import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { Server as NetServer } from 'node:net';
import { ServerCredentials, type ChannelOptions, type Server as GrpcServer } from '@grpc/grpc-js';

// Small network helpers every service needs: bind and read the port back, close gracefully, request ids.

/** Listen on host:port (0 = any free port) and resolve with the bound port. */
export function listenHttp(server: NetServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error(`server is not bound to a TCP port: ${String(address)}`));
        return;
      }
      resolve(address.port);
    });
  });
}

function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** Bind a grpc-js server (insecure unless `credentials` is given) and resolve with the bound port. */
export function bindGrpc(
  server: GrpcServer,
  host: string,
  port: number,
  credentials: ServerCredentials = ServerCredentials.createInsecure(),
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${hostForUri(host)}:${port}`, credentials, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
}

/** 100 MiB: OVMS and Triton users keep hitting gRPC's 4 MiB default, so every hop raises it. */
export const DEFAULT_GRPC_MAX_MESSAGE_BYTES = 100 * 1024 * 1024;

/** grpc-js server or client options raising both message limits to `maxMessageBytes`. */
export function grpcMessageLimits(maxMessageBytes: number = DEFAULT_GRPC_MAX_MESSAGE_BYTES): ChannelOptions {
  return { 'grpc.max_receive_message_length': maxMessageBytes, 'grpc.max_send_message_length': maxMessageBytes };
}

/**
 * Stop accepting, let in-flight requests finish, and after `graceMs` cut the connections that are
 * still open. Resolves once the server is closed.
 */
export function closeHttpServer(server: HttpServer, graceMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!server.listening) return resolve();
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    // a keep-alive connection turns idle when its last response ends and would hold close() open
    // until keepAliveTimeout: close idle ones as they appear
    const sweep = setInterval(() => server.closeIdleConnections(), 50);
    force.unref();
    sweep.unref();
    server.close((err) => {
      clearTimeout(force);
      clearInterval(sweep);
      if (err) reject(err);
      else resolve();
    });
    server.closeIdleConnections();
  });
}

/** grpc-js graceful shutdown, forced after `graceMs` (streams still open are cancelled). */
export function closeGrpcServer(server: GrpcServer, graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.forceShutdown(), graceMs);
    timer.unref();
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export const REQUEST_ID_HEADER = 'x-request-id';

const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:/+=-]{1,128}$/;

/**
 * The request id to log and echo: the caller's `x-request-id` (header or gRPC metadata value) when
 * it is short and plain, otherwise a fresh UUID.
 */
export function requestId(incoming?: string | readonly string[] | Buffer | null): string {
  const value = Array.isArray(incoming) ? incoming[0] : incoming;
  if (typeof value === 'string' && ACCEPTABLE_REQUEST_ID.test(value)) return value;
  return randomUUID();
}
