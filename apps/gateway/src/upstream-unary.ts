import type { ConnectionPool } from './connection-pool';
import { H2_ERROR, type H2Stream } from './h2-connection';
import type { HeaderList } from './hpack';
import { decodeGrpcMessage, firstMessage, formatGrpcTimeout, frameMessage, GrpcStatus } from './grpc-wire';

export interface UnaryResult {
  readonly code: number;
  readonly message: string;
  /** The response message, when there was one. */
  readonly response: Buffer | undefined;
}

/**
 * One unary call over a pooled connection, for the gateway's own calls (health checks): the same
 * connections that carry traffic, so a check also keeps them warm.
 */
export function unaryCall(pool: ConnectionPool, path: string, request: Uint8Array, timeoutMs: number): Promise<UnaryResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let code: number | undefined;
    let message = '';
    let failure = '';
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (code === undefined) resolve({ code: GrpcStatus.UNAVAILABLE, message: failure || 'no grpc-status', response: undefined });
      else resolve({ code, message, response: firstMessage(Buffer.concat(chunks)) });
    };
    const status = (headers: HeaderList): void => {
      const f = headers.fields;
      for (let i = 0; i < f.length; i += 2) {
        if (f[i] === ':status' && f[i + 1] !== '200') failure = `HTTP status ${f[i + 1]}`;
        else if (f[i] === 'grpc-status') code = Number(f[i + 1]);
        else if (f[i] === 'grpc-message') message = decodeGrpcMessage(f[i + 1] as string);
      }
    };
    let stream: H2Stream | undefined;
    const timer = setTimeout(() => {
      failure = `no answer within ${timeoutMs} ms`;
      code = undefined;
      stream?.reset(H2_ERROR.CANCEL);
      settle();
    }, timeoutMs);
    timer.unref();
    try {
      stream = pool.acquire().conn.request(
        [':method', 'POST', ':scheme', pool.scheme, ':path', path, ':authority', `${pool.host}:${pool.port}`, 'content-type', 'application/grpc', 'te', 'trailers', 'grpc-timeout', formatGrpcTimeout(timeoutMs)],
        undefined,
        false,
        {
          onHeaders: (_s, headers, end) => {
            status(headers);
            if (end) settle();
          },
          onData: (s, data, end) => {
            chunks.push(Buffer.from(data));
            s.consumed(data.length);
            if (end) settle();
          },
          onReset: (_s, h2Code) => {
            failure ||= h2Code < 0 ? 'connection lost' : `stream reset (HTTP/2 error ${h2Code})`;
            if (code !== undefined && code !== GrpcStatus.OK) code = undefined;
            settle();
          },
        },
      );
      stream.sendData(frameMessage(request), true, false);
    } catch (err) {
      failure = (err as Error).message;
      settle();
    }
  });
}
