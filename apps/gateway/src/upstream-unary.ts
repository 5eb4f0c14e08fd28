import { constants as h2 } from 'node:http2';
import type { ConnectionPool } from './connection-pool';
import { decodeGrpcMessage, firstMessage, formatGrpcTimeout, frameMessage, GrpcStatus } from './grpc-wire';

export interface UnaryResult {
  readonly code: number;
  readonly message: string;
  /** The response message, when there was one. */
  readonly response: Buffer | undefined;
}

/**
 * One unary call over a pooled session, for the gateway's own calls (health checks): the same
 * connections that carry traffic, so a check also keeps them warm.
 */
export function unaryCall(pool: ConnectionPool, path: string, request: Uint8Array, timeoutMs: number): Promise<UnaryResult> {
  return new Promise((resolve) => {
    let entry;
    let stream;
    try {
      entry = pool.acquire();
      stream = entry.session.request(
        {
          [h2.HTTP2_HEADER_METHOD]: 'POST',
          [h2.HTTP2_HEADER_PATH]: path,
          [h2.HTTP2_HEADER_SCHEME]: pool.scheme,
          'content-type': 'application/grpc',
          te: 'trailers',
          'grpc-timeout': formatGrpcTimeout(timeoutMs),
        },
        { endStream: false },
      );
    } catch (err) {
      resolve({ code: GrpcStatus.UNAVAILABLE, message: (err as Error).message, response: undefined });
      return;
    }
    const session = entry;
    session.active++;
    const chunks: Buffer[] = [];
    let code: number | undefined;
    let message = '';
    let failure = '';
    const timer = setTimeout(() => {
      failure = `no answer within ${timeoutMs} ms`;
      stream.close(h2.NGHTTP2_CANCEL);
    }, timeoutMs);
    timer.unref();
    const status = (headers: Record<string, unknown>): void => {
      const s = headers['grpc-status'];
      if (typeof s === 'string') {
        code = Number(s);
        const m = headers['grpc-message'];
        message = typeof m === 'string' ? decodeGrpcMessage(m) : '';
      }
    };
    stream.on('response', (headers) => {
      const httpStatus = headers[h2.HTTP2_HEADER_STATUS];
      if (Number(httpStatus) !== 200) failure = `HTTP status ${String(httpStatus)}`;
      status(headers);
    });
    stream.on('trailers', status);
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', (err: Error) => {
      failure ||= err.message;
    });
    stream.on('close', () => {
      clearTimeout(timer);
      session.active--;
      if (code === undefined) {
        resolve({ code: GrpcStatus.UNAVAILABLE, message: failure || `stream closed (code ${stream.rstCode})`, response: undefined });
      } else {
        resolve({ code, message, response: firstMessage(Buffer.concat(chunks)) });
      }
    });
    stream.end(frameMessage(request));
  });
}
