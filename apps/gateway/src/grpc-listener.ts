import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { bgError, toHttpError, type BgError } from '@bundlegate/service-kit';
import { GrpcCall, type CallContext } from './grpc-call';
import { GatewayHealth, HEALTH_CHECK_PATH, HEALTH_WATCH_PATH } from './grpc-health';
import { H2_ERROR, H2Connection, type H2Stream, type LocalSettings, type StreamHandler } from './h2-connection';
import type { HeaderList } from './hpack';
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
  readonly maxHeaderListSize: number;
  /** Bytes per socket-read arena (see socket-reads.ts); 0 = node's ordinary reads. Default ARENA_SIZE. */
  readonly readArena?: number;
  /** Route ModelInfer / Predict calls without `model-id` by the model name in their first bytes. */
  readonly sniffModelName: boolean;
  readonly tls?: ListenerTls;
  /** How often a grpc.health.v1 Watch re-reads the status (default 1 s). */
  readonly healthWatchIntervalMs?: number;
}

/** What the listener reads per call: swapped as a whole on reload. */
export interface RouterState {
  readonly table: RouteTable;
  readonly draining: boolean;
  readiness(): { ready: boolean; reasons: string[] };
}

/** Streams answered by the listener itself: their request bytes are dropped with credit returned. */
const DISCARD: StreamHandler = {
  onHeaders: () => undefined,
  onData: (stream, data) => stream.consumed(data.length),
  onReset: () => undefined,
};

/**
 * The gRPC listener: HTTP/2 (h2c, or TLS with ALPN h2) on the gateway's own framing layer, since
 * grpc-js's Server dispatches only registered methods and the gateway forwards any `:path`. Also
 * answers GET /health (as the nginx setup did), /healthz and /readyz, and grpc.health.v1 calls
 * without `model-id`.
 */
export class GrpcListener {
  readonly server: Server;
  private readonly connections = new Set<H2Connection>();
  private readonly settings: LocalSettings;
  readonly health: GatewayHealth;

  constructor(
    private readonly state: RouterState,
    private readonly ctx: CallContext,
    private readonly options: GrpcListenerOptions,
  ) {
    this.settings = {
      maxConcurrentStreams: options.maxConcurrentStreams,
      initialWindowSize: options.streamWindow,
      connectionWindowSize: options.connectionWindow,
      maxFrameSize: options.maxFrameSize,
      maxHeaderListSize: options.maxHeaderListSize,
      ...(options.readArena === undefined ? {} : { readArena: options.readArena }),
    };
    this.health = new GatewayHealth(state, options.healthWatchIntervalMs);
    const tls = options.tls;
    this.server = tls
      ? createTlsServer(
          {
            cert: tls.cert,
            key: tls.key,
            ca: tls.clientCa,
            requestCert: tls.clientCa !== undefined,
            rejectUnauthorized: tls.clientCa !== undefined,
            ALPNProtocols: ['h2'],
          },
          (socket: TLSSocket) => {
            if (socket.alpnProtocol !== 'h2') socket.destroy();
            else this.accept(socket);
          },
        )
      : createNetServer((socket) => this.accept(socket));
    this.server.on('tlsClientError', () => undefined);
  }

  private accept(socket: Socket): void {
    socket.on('error', () => undefined);
    const conn = new H2Connection(socket, 'server', this.settings, {
      onStream: this.onStream,
      onClose: () => this.connections.delete(conn),
    });
    this.connections.add(conn);
    if (this.state.draining) conn.close();
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
    // Watch streams learn NOT_SERVING now and end, instead of holding their connections
    this.health.refresh();
    for (const c of this.connections) c.close();
    const timer = setTimeout(() => {
      for (const c of this.connections) c.destroy();
    }, drainMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }

  get openConnections(): number {
    return this.connections.size;
  }

  private readonly onStream = (stream: H2Stream, headers: HeaderList, endStream: boolean): void => {
    const f = headers.fields;
    if (!validRequestFields(f)) {
      // malformed requests never reach a backend: they would be refused there and count against it
      stream.reset(H2_ERROR.PROTOCOL_ERROR);
      return;
    }
    let method: string | undefined;
    let path: string | undefined;
    let modelId: string | undefined;
    for (let i = 0; i < f.length; i += 2) {
      const name = f[i];
      if (name === ':method') method = f[i + 1];
      else if (name === ':path') path = f[i + 1];
      else if (name === 'model-id') modelId = f[i + 1];
    }
    if (method !== 'POST') {
      this.plainHttp(stream, method ?? '', path ?? '');
      return;
    }
    const state = this.state;
    if (modelId !== undefined && modelId !== '') {
      if (state.draining) {
        this.reject(stream, bgError('BG_SHUTTING_DOWN'), '');
        return;
      }
      const route = state.table.apply(modelId);
      if (route === undefined) {
        this.reject(stream, bgError('BG_UNKNOWN_MODEL', { modelId, known: state.table.knownIds }), modelId);
        return;
      }
      new GrpcCall(stream, headers, route, this.ctx, endStream).start();
      return;
    }
    if (path === HEALTH_CHECK_PATH || path === HEALTH_WATCH_PATH) {
      // the gateway's own health (NOT_SERVING while draining); with model-id it went to the backend above
      this.health.serve(stream, path === HEALTH_WATCH_PATH, endStream);
      return;
    }
    if (state.draining) {
      this.reject(stream, bgError('BG_SHUTTING_DOWN'), '');
      return;
    }
    const kind = this.options.sniffModelName && !endStream ? SNIFFABLE_PATHS.get(path ?? '') : undefined;
    if (kind !== undefined) this.sniff(stream, headers, kind);
    else this.reject(stream, bgError('BG_MISSING_MODEL_ID'), '');
  };

  /** Holds the first chunks until the model name is readable, then routes as if it came as `model-id`. */
  private sniff(stream: H2Stream, headers: HeaderList, kind: 'kserve' | 'tfs'): void {
    const chunks: Buffer[] = [];
    let held = 0;
    const finish = (name: string | symbol, ended: boolean): void => {
      if (typeof name !== 'string') {
        for (const c of chunks) stream.consumed(c.length);
        this.reject(stream, bgError('BG_MISSING_MODEL_ID'), '');
        return;
      }
      const route = this.state.table.apply(name);
      if (route === undefined) {
        for (const c of chunks) stream.consumed(c.length);
        this.reject(stream, bgError('BG_UNKNOWN_MODEL', { modelId: name, known: this.state.table.knownIds }), name);
        return;
      }
      new GrpcCall(stream, headers, route, this.ctx, ended).start(chunks);
    };
    stream.handler = {
      onHeaders: () => undefined,
      onData: (_s, data, end) => {
        chunks.push(data);
        held += data.length;
        const found = end ? sniffModelName(kind, Buffer.concat(chunks, held), 0) : sniffModelName(kind, chunks.length === 1 ? data : Buffer.concat(chunks, held));
        if (found !== NEED_MORE) finish(found, end);
      },
      onReset: () => undefined,
    };
  }

  private reject(stream: H2Stream, err: BgError, modelId: string): void {
    this.ctx.metrics.gatewayError(modelId, err.code);
    this.ctx.metrics.call(modelId, undefined, err.grpcCode, 0);
    this.ctx.logger.debug({ modelId, code: err.code }, err.message);
    stream.handler = DISCARD;
    respondTrailersOnly(stream, rescue(err));
  }

  private plainHttp(stream: H2Stream, method: string, rawPath: string): void {
    stream.handler = DISCARD;
    const path = rawPath.split('?')[0] ?? '';
    let status = 200;
    let body: unknown;
    let code: string | undefined;
    if (path === '/health' || path === '/healthz') body = { status: 'ok' };
    else if (path === '/readyz') {
      const r = this.state.readiness();
      status = r.ready ? 200 : 503;
      body = { ready: r.ready, reasons: r.reasons };
    } else {
      const e = toHttpError(bgError('BG_NOT_FOUND', { method, path }));
      status = e.status;
      body = e.body;
      code = e.body.error.code;
    }
    const fields = [':status', String(status), 'content-type', 'application/json'];
    if (code !== undefined) fields.push(GATEWAY_ERROR_HEADER, code);
    stream.sendHeaders(fields, undefined, false);
    stream.sendData(Buffer.from(JSON.stringify(body)), true);
  }
}

const PSEUDO_REQUEST = new Set([':method', ':path', ':scheme', ':authority']);

/**
 * RFC 9113 §8.2/8.3 checks that matter to a proxy: lowercase token names, known pseudo-headers
 * first and once, no NUL/CR/LF in values, :method and :path present.
 */
export function validRequestFields(fields: readonly string[]): boolean {
  let regular = false;
  let method = false;
  let path = false;
  const seen = new Set<string>();
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i] as string;
    const value = fields[i + 1] as string;
    if (name.length === 0) return false;
    if (name.charCodeAt(0) === 58 /* : */) {
      if (regular || !PSEUDO_REQUEST.has(name) || seen.has(name)) return false;
      seen.add(name);
      if (name === ':method') method = value.length > 0;
      else if (name === ':path') path = value.length > 0;
    } else {
      regular = true;
      for (let j = 0; j < name.length; j++) {
        const c = name.charCodeAt(j);
        // lowercase letters, digits and the token punctuation of RFC 9110 §5.6.2
        if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95 || c === 46 || c === 33 || (c >= 35 && c <= 39) || c === 42 || c === 43 || c === 94 || c === 96 || c === 124 || c === 126)) return false;
      }
    }
    for (let j = 0; j < value.length; j++) {
      const c = value.charCodeAt(j);
      if (c === 0 || c === 10 || c === 13) return false;
    }
  }
  return method && path;
}
