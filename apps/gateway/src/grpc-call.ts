import { constants as h2 } from 'node:http2';
import type { ClientHttp2Stream, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { bgError, type BgError, type Logger } from '@bundlegate/service-kit';
import type { PooledSession } from './connection-pool';
import type { Endpoint } from './endpoint';
import { formatGrpcTimeout, GrpcStatus, MessageSizeGuard, parseGrpcTimeout } from './grpc-wire';
import type { GatewayMetrics } from './metrics';
import { rescue, respondTrailersOnly } from './rescue';
import type { Route } from './route-table';

// The hot path: one forwarded gRPC call. Bytes move with direct 'data' handlers and write()
// backpressure (no pipe()), headers and trailers objects are passed through as node built them,
// and nothing is decoded. Request chunks are kept by reference until the first response byte so a
// call that failed before it can be replayed on another endpoint.

const END_STREAM = 0x1;
const UNAVAILABLE = String(GrpcStatus.UNAVAILABLE);

export interface CallContext {
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Request bytes kept for replay; a longer request is not retried. */
  readonly retryBufferBytes: number;
  nextRequestId(): string;
}

function noop(): void {}

export class GrpcCall {
  private up: ClientHttp2Stream | undefined;
  private entry: PooledSession | undefined;
  private endpoint: Endpoint | undefined;
  private tried: Endpoint[] | undefined;
  private attempts = 0;
  private replay: Buffer[] | null = [];
  private replayBytes = 0;
  private requestEnded = false;
  private responseStarted = false;
  /** The response is complete or the gateway answered: nothing more goes downstream but trailers. */
  private done = false;
  private downClosed = false;
  private trailers: OutgoingHttpHeaders | undefined;
  private status: number = GrpcStatus.UNKNOWN;
  private deadline = 0;
  private timeoutMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private requestGuard: MessageSizeGuard | undefined;
  private responseGuard: MessageSizeGuard | undefined;
  private readonly started = performance.now();

  constructor(
    private readonly down: ServerHttp2Stream,
    private readonly headers: IncomingHttpHeaders,
    private readonly route: Route,
    private readonly ctx: CallContext,
  ) {}

  /** Starts forwarding; `prefetched` are body chunks already read (model-name sniffing), `ended` if the body ended there. */
  start(prefetched?: readonly Buffer[], ended = false): void {
    const headers = this.headers;
    const route = this.route;
    let timeoutMs = parseGrpcTimeout(headers['grpc-timeout']) ?? 0;
    if (route.timeoutMs > 0 && (timeoutMs === 0 || route.timeoutMs < timeoutMs)) {
      timeoutMs = route.timeoutMs;
      headers['grpc-timeout'] = formatGrpcTimeout(timeoutMs);
    }
    if (timeoutMs > 0) {
      this.timeoutMs = timeoutMs;
      this.deadline = Date.now() + timeoutMs;
      this.timer = setTimeout(this.onDeadline, timeoutMs);
    }
    if (headers['x-request-id'] === undefined) headers['x-request-id'] = this.ctx.nextRequestId();
    if (route.maxMessageSize > 0) {
      this.requestGuard = new MessageSizeGuard(route.maxMessageSize);
      this.responseGuard = new MessageSizeGuard(route.maxMessageSize);
    }
    const down = this.down;
    down.on('data', this.onDownData);
    down.on('end', this.onDownEnd);
    down.on('close', this.onDownClose);
    down.on('wantTrailers', this.onWantTrailers);
    down.on('drain', this.onDownDrain);
    down.on('error', noop);
    this.attempt();
    if (prefetched) for (const chunk of prefetched) this.onDownData(chunk);
    if (ended) this.onDownEnd();
  }

  private attempt(): void {
    const now = Date.now();
    const endpoint = this.route.cluster.pick(now, this.tried);
    if (endpoint === undefined) {
      this.fail(bgError(this.attempts === 0 ? 'BG_NO_HEALTHY_ENDPOINT' : 'BG_UPSTREAM_UNAVAILABLE', { modelId: this.route.modelId }));
      return;
    }
    this.attempts++;
    const headers = this.headers;
    if (this.attempts > 1 && this.deadline > 0) headers['grpc-timeout'] = formatGrpcTimeout(this.deadline - now);
    const pool = endpoint.pool;
    if (headers[':scheme'] !== pool.scheme) headers[':scheme'] = pool.scheme;
    let entry: PooledSession;
    let up: ClientHttp2Stream;
    try {
      entry = pool.acquire();
      up = entry.session.request(headers);
    } catch (err) {
      // a session that can take no more streams (GOAWAY race, ids exhausted): try the next one
      this.endpoint = endpoint;
      this.route.cluster.outlier.failure(endpoint, now);
      this.ctx.logger.debug({ modelId: this.route.modelId, endpoint: endpoint.address, err: (err as Error).message }, 'upstream request failed');
      if (this.canRetry()) this.retry();
      else this.fail(bgError('BG_UPSTREAM_UNAVAILABLE', { modelId: this.route.modelId }, { cause: err }));
      return;
    }
    entry.active++;
    endpoint.outstanding++;
    this.up = up;
    this.entry = entry;
    this.endpoint = endpoint;
    up.on('response', this.onUpResponse);
    up.on('data', this.onUpData);
    up.on('trailers', this.onUpTrailers);
    up.on('end', this.onUpEnd);
    up.on('close', this.onUpClose);
    up.on('drain', this.onUpDrain);
    up.on('error', noop);
    if (this.attempts > 1 && this.replay !== null) for (const chunk of this.replay) up.write(chunk);
    if (this.requestEnded) up.end();
  }

  /** Unhooks the current attempt's stream and returns it (still open, maybe). */
  private detach(): ClientHttp2Stream | undefined {
    const up = this.up;
    if (up === undefined) return undefined;
    this.up = undefined;
    up.removeListener('response', this.onUpResponse);
    up.removeListener('data', this.onUpData);
    up.removeListener('trailers', this.onUpTrailers);
    up.removeListener('end', this.onUpEnd);
    up.removeListener('close', this.onUpClose);
    up.removeListener('drain', this.onUpDrain);
    (this.entry as PooledSession).active--;
    (this.endpoint as Endpoint).outstanding--;
    return up;
  }

  private cancelUpstream(): void {
    const up = this.detach();
    if (up !== undefined && !up.closed) up.close(h2.NGHTTP2_CANCEL);
  }

  private canRetry(): boolean {
    return (
      this.replay !== null &&
      !this.responseStarted &&
      !this.downClosed &&
      this.attempts < this.route.maxAttempts &&
      (this.deadline === 0 || Date.now() < this.deadline)
    );
  }

  private retry(): void {
    if (this.endpoint !== undefined) (this.tried ??= []).push(this.endpoint);
    this.cancelUpstream();
    this.ctx.metrics.retries.inc({ model_id: this.route.modelId });
    this.attempt();
  }

  /** The gateway answers the call itself (rescue): trailers-only, or trailers after a started response. */
  private fail(err: BgError): void {
    if (this.done) return;
    this.done = true;
    this.replay = null;
    this.cancelUpstream();
    const rescued = rescue(err);
    this.status = err.grpcCode;
    this.ctx.metrics.gatewayError(this.route.modelId, err.code);
    const log = this.ctx.logger;
    const fields = { reqId: this.headers['x-request-id'], modelId: this.route.modelId, endpoint: this.endpoint?.address, code: err.code };
    if (err.httpStatus >= 500) log.warn(fields, err.message);
    else log.debug(fields, err.message);
    const down = this.down;
    if (down.destroyed || down.closed) return;
    if (!down.headersSent) {
      respondTrailersOnly(down, rescued);
      // the rest of the request body is read and dropped so its flow-control credit comes back
      down.resume();
    } else {
      this.trailers = rescued.trailers;
      down.end();
    }
  }

  // ---- downstream (client) side

  private readonly onDownData = (chunk: Buffer): void => {
    if (this.requestGuard !== undefined && this.requestGuard.feed(chunk) >= 0) {
      this.fail(bgError('BG_BODY_TOO_LARGE', { limit: this.route.maxMessageSize }));
      return;
    }
    if (this.replay !== null) {
      this.replayBytes += chunk.length;
      if (this.replayBytes > this.ctx.retryBufferBytes) this.replay = null;
      else this.replay.push(chunk);
    }
    const up = this.up;
    if (up !== undefined && !up.write(chunk)) this.down.pause();
  };

  private readonly onDownEnd = (): void => {
    this.requestEnded = true;
    this.up?.end();
  };

  private readonly onUpDrain = (): void => {
    this.down.resume();
  };

  private readonly onWantTrailers = (): void => {
    this.down.sendTrailers(this.trailers ?? {});
  };

  private readonly onDownDrain = (): void => {
    this.up?.resume();
  };

  private readonly onDownClose = (): void => {
    this.downClosed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (!this.done) {
      // the client cancelled or its connection went: cancel upstream too
      this.done = true;
      this.status = GrpcStatus.CANCELLED;
      this.cancelUpstream();
    } else if (this.up !== undefined && !this.up.closed && this.responseStarted) {
      this.cancelUpstream();
    }
    this.ctx.metrics.call(this.route.modelId, this.endpoint, this.status, (performance.now() - this.started) / 1000);
  };

  private readonly onDeadline = (): void => {
    this.timer = undefined;
    this.fail(bgError('BG_UPSTREAM_TIMEOUT', { modelId: this.route.modelId, timeoutMs: Math.round(this.timeoutMs) }));
  };

  // ---- upstream (backend) side

  private readonly onUpResponse = (headers: IncomingHttpHeaders, flags: number): void => {
    if (this.done) return;
    if ((flags & END_STREAM) !== 0) {
      // trailers-only: the backend answered with a status and no messages
      const status = headers['grpc-status'];
      if (status === UNAVAILABLE) {
        this.route.cluster.outlier.failure(this.endpoint as Endpoint, Date.now());
        if (this.canRetry()) {
          this.retry();
          return;
        }
      } else {
        this.route.cluster.outlier.success(this.endpoint as Endpoint);
      }
      this.done = true;
      this.status = typeof status === 'string' ? Number(status) : GrpcStatus.UNKNOWN;
      if (!this.down.destroyed) this.down.respond(headers, { endStream: true });
      return;
    }
    this.responseStarted = true;
    this.replay = null;
    if (!this.down.destroyed) this.down.respond(headers, { waitForTrailers: true });
  };

  private readonly onUpData = (chunk: Buffer): void => {
    if (this.responseGuard !== undefined && this.responseGuard.feed(chunk) >= 0) {
      this.fail(bgError('BG_BODY_TOO_LARGE', { limit: this.route.maxMessageSize }));
      return;
    }
    if (!this.down.write(chunk)) this.up?.pause();
  };

  private readonly onUpTrailers = (trailers: IncomingHttpHeaders): void => {
    this.trailers = trailers;
    const status = trailers['grpc-status'];
    this.status = typeof status === 'string' ? Number(status) : GrpcStatus.UNKNOWN;
    const endpoint = this.endpoint as Endpoint;
    if (status === UNAVAILABLE) this.route.cluster.outlier.failure(endpoint, Date.now());
    else this.route.cluster.outlier.success(endpoint);
  };

  private readonly onUpEnd = (): void => {
    if (this.done || !this.responseStarted) return;
    if (this.trailers === undefined) {
      this.fail(
        bgError('BG_UPSTREAM_ERROR', {
          modelId: this.route.modelId,
          upstreamStatus: 'no grpc-status',
          upstreamMessage: 'the backend ended its response without trailers',
        }),
      );
      return;
    }
    this.done = true;
    if (!this.down.destroyed) this.down.end();
  };

  private readonly onUpClose = (): void => {
    const up = this.up as ClientHttp2Stream;
    this.detach();
    if (this.done || this.downClosed) return;
    // closed before the response completed: refused, reset, connection lost
    const endpoint = this.endpoint as Endpoint;
    this.route.cluster.outlier.failure(endpoint, Date.now());
    this.ctx.logger.debug(
      { reqId: this.headers['x-request-id'], modelId: this.route.modelId, endpoint: endpoint.address, rstCode: up.rstCode, attempt: this.attempts },
      'upstream stream closed before the response completed',
    );
    if (this.canRetry()) this.retry();
    else this.fail(bgError('BG_UPSTREAM_UNAVAILABLE', { modelId: this.route.modelId }));
  };
}
