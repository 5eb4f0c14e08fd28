import * as http2 from 'node:http2';
import type { Http2SecureServer, Http2Server, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { bgError, toHttpError, type BgError } from '@bundlegate/service-kit';
import { GrpcCall, type CallContext } from './grpc-call';
import { NEED_MORE, SNIFFABLE_PATHS, sniffModelName } from './model-name-sniffer';
import { GATEWAY_ERROR_HEADER, rescue, respondTrailersOnly } from './rescue';
import type { RouteTable } from './route-table';

export interface ListenerTls {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Client CA: when set, clients must present a certificate it signed (mTLS). */
  readonly clientCa?: Buffer;
}

export interface GrpcListenerOptions {
  readonly streamWindow: number;
  readonly connectionWindow: number;
  readonly maxFrameSize: number;
  readonly maxConcurrentStreams: number;
  readonly maxSessionMemoryMb: number;
  /** Route ModelInfer / Predict calls without `model-id` by the model name in their first bytes. */
  readonly sniffModelName: boolean;
  readonly tls?: ListenerTls;
}

/** What the listener reads per call: swapped as a whole on reload. */
export interface RouterState {
  readonly table: RouteTable;
  readonly draining: boolean;
  readiness(): { ready: boolean; reasons: string[] };
}

function noop(): void {}

/**
 * The gRPC listener: node:http2 directly, since grpc-js's Server dispatches only registered methods
 * and the gateway forwards any `:path`. Also answers GET /health (as the nginx setup did), /healthz, /readyz.
 */
export class GrpcListener {
  readonly server: Http2Server | Http2SecureServer;
  private readonly sessions = new Set<ServerHttp2Session>();

  constructor(
    private readonly state: RouterState,
    private readonly ctx: CallContext,
    private readonly options: GrpcListenerOptions,
  ) {
    const common: http2.ServerOptions = {
      settings: {
        initialWindowSize: options.streamWindow,
        maxFrameSize: options.maxFrameSize,
        maxConcurrentStreams: options.maxConcurrentStreams,
      },
      maxSessionMemory: options.maxSessionMemoryMb,
      paddingStrategy: http2.constants.PADDING_STRATEGY_NONE,
    };
    this.server = options.tls
      ? http2.createSecureServer({
          ...common,
          cert: options.tls.cert,
          key: options.tls.key,
          ca: options.tls.clientCa,
          requestCert: options.tls.clientCa !== undefined,
          rejectUnauthorized: options.tls.clientCa !== undefined,
          allowHTTP1: false,
        })
      : http2.createServer(common);
    this.server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('error', noop);
      session.once('close', () => this.sessions.delete(session));
      // a big connection window lets a client send several large bodies without waiting for WINDOW_UPDATE
      session.once('localSettings', () => {
        if (!session.destroyed) session.setLocalWindowSize(options.connectionWindow);
      });
    });
    this.server.on('stream', this.onStream);
    this.server.on('sessionError', noop);
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting connections and sends GOAWAY; calls in flight finish, for at most `drainMs`. */
  async close(drainMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sessions) s.close();
    const timer = setTimeout(() => {
      for (const s of this.sessions) s.destroy();
    }, drainMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  get openSessions(): number {
    return this.sessions.size;
  }

  private readonly onStream = (down: ServerHttp2Stream, headers: IncomingHttpHeaders): void => {
    if (headers[':method'] !== 'POST') {
      this.plainHttp(down, headers);
      return;
    }
    const state = this.state;
    if (state.draining) {
      this.reject(down, bgError('BG_SHUTTING_DOWN'), '');
      return;
    }
    const modelId = headers['model-id'];
    if (typeof modelId === 'string' && modelId !== '') {
      const route = state.table.apply(modelId);
      if (route === undefined) {
        this.reject(down, bgError('BG_UNKNOWN_MODEL', { modelId, known: state.table.knownIds }), modelId);
        return;
      }
      new GrpcCall(down, headers, route, this.ctx).start();
      return;
    }
    const kind = this.options.sniffModelName ? SNIFFABLE_PATHS.get(headers[':path'] ?? '') : undefined;
    if (kind !== undefined) this.sniff(down, headers, kind);
    else this.reject(down, bgError('BG_MISSING_MODEL_ID'), '');
  };

  /** Holds the first chunks until the model name is readable, then routes as if it came as `model-id`. */
  private sniff(down: ServerHttp2Stream, headers: IncomingHttpHeaders, kind: 'kserve' | 'tfs'): void {
    const chunks: Buffer[] = [];
    const finish = (name: string | symbol, ended: boolean): void => {
      down.removeListener('data', onData);
      down.removeListener('end', onEnd);
      if (typeof name !== 'string') {
        this.reject(down, bgError('BG_MISSING_MODEL_ID'), '');
        return;
      }
      const route = this.state.table.apply(name);
      if (route === undefined) {
        this.reject(down, bgError('BG_UNKNOWN_MODEL', { modelId: name, known: this.state.table.knownIds }), name);
        return;
      }
      new GrpcCall(down, headers, route, this.ctx).start(chunks, ended);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      const found = sniffModelName(kind, chunks.length === 1 ? chunk : Buffer.concat(chunks));
      if (found !== NEED_MORE) finish(found, false);
    };
    const onEnd = (): void => finish(sniffModelName(kind, Buffer.concat(chunks), 0), true);
    down.on('data', onData);
    down.on('end', onEnd);
    down.on('error', noop);
  }

  private reject(down: ServerHttp2Stream, err: BgError, modelId: string): void {
    this.ctx.metrics.gatewayError(modelId, err.code);
    this.ctx.metrics.call(modelId, undefined, err.grpcCode, 0);
    this.ctx.logger.debug({ reqId: headersId(down), modelId, code: err.code }, err.message);
    down.on('error', noop);
    respondTrailersOnly(down, rescue(err));
    down.resume();
  }

  private plainHttp(down: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    down.on('error', noop);
    const path = (headers[':path'] ?? '').split('?')[0];
    let status = 200;
    let body: unknown;
    let code: string | undefined;
    if (path === '/health' || path === '/healthz') body = { status: 'ok' };
    else if (path === '/readyz') {
      const r = this.state.readiness();
      status = r.ready ? 200 : 503;
      body = { ready: r.ready, reasons: r.reasons };
    } else {
      const e = toHttpError(bgError('BG_NOT_FOUND', { method: String(headers[':method']), path: path ?? '' }));
      status = e.status;
      body = e.body;
      code = e.body.error.code;
    }
    down.respond({ ':status': status, 'content-type': 'application/json', ...(code ? { [GATEWAY_ERROR_HEADER]: code } : {}) });
    down.end(JSON.stringify(body));
    down.resume();
  }
}

function headersId(down: ServerHttp2Stream): string | undefined {
  return down.id === undefined ? undefined : String(down.id);
}
