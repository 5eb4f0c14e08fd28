import { bgError, type BgError, type Logger } from '@bundlegate/service-kit';
import type { PooledSession } from './connection-pool';
import type { Endpoint } from './endpoint';
import { H2_ERROR, type H2Stream, type StreamHandler } from './h2-connection';
import type { HeaderList } from './hpack';
import { formatGrpcTimeout, GrpcStatus, MessageSizeGuard, parseGrpcTimeout } from './grpc-wire';
import type { GatewayMetrics } from './metrics';
import { rescue, respondTrailersOnly } from './rescue';
import type { Route } from './route-table';

// The hot path: one forwarded gRPC call between a client stream and an upstream stream. Header
// fields pass through as decoded (plus x-request-id when missing), body chunks are views of the
// socket reads, and nothing is decoded. Request chunks are kept by reference until the first
// response byte so a call that failed before it can be replayed on another endpoint.

const UNAVAILABLE = String(GrpcStatus.UNAVAILABLE);
const EMPTY = Buffer.alloc(0);
/** Connection-specific fields never travel between HTTP/2 hops (RFC 9113 §8.2.2). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export interface CallContext {
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Request bytes kept for replay; a longer request is not retried. */
  readonly retryBufferBytes: number;
  nextRequestId(): string;
}

function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

export class GrpcCall implements StreamHandler {
  private up: H2Stream | undefined;
  private endpoint: Endpoint | undefined;
  private tried: Endpoint[] | undefined;
  private attempts = 0;
  private replay: Buffer[] | null = [];
  private replayBytes = 0;
  private requestEnded: boolean;
  private responseStarted = false;
  /** The response is complete or the gateway answered: nothing more goes downstream. */
  private done = false;
  private finished = false;
  private status: number = GrpcStatus.UNKNOWN;
  private deadline = 0;
  private timeoutMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private requestGuard: MessageSizeGuard | undefined;
  private responseGuard: MessageSizeGuard | undefined;
  private readonly started = performance.now();
  /** Request fields for the upstream: the client's, minus hop-by-hop ones, plus x-request-id. */
  private readonly upFields: string[];
  private readonly neverIndexed: string[] | undefined;
  private schemeAt = -1;
  private timeoutAt = -1;
  readonly requestId: string;

  constructor(
    private readonly down: H2Stream,
    request: HeaderList,
    private readonly route: Route,
    private readonly ctx: CallContext,
    endStream: boolean,
  ) {
    this.requestEnded = endStream;
    this.neverIndexed = request.neverIndexed;
    const f = request.fields;
    const up: string[] = [];
    let requestId: string | undefined;
    for (let i = 0; i < f.length; i += 2) {
      const name = f[i] as string;
      const value = f[i + 1] as string;
      if (HOP_BY_HOP.has(name) || (name === 'te' && value !== 'trailers')) continue;
      if (name === ':scheme') this.schemeAt = up.length + 1;
      else if (name === 'grpc-timeout') this.timeoutAt = up.length + 1;
      else if (name === 'x-request-id') requestId = value;
      up.push(name, value);
    }
    if (requestId === undefined) {
      requestId = ctx.nextRequestId();
      up.push('x-request-id', requestId);
    }
    this.requestId = requestId;
    this.upFields = up;
  }

  /** Starts forwarding; `prefetched` are body chunks already read (model-name sniffing). */
  start(prefetched?: readonly Buffer[]): void {
    const route = this.route;
    const down = this.down;
    let timeoutMs = this.timeoutAt === -1 ? 0 : (parseGrpcTimeout(this.upFields[this.timeoutAt]) ?? 0);
    if (route.timeoutMs > 0 && (timeoutMs === 0 || route.timeoutMs < timeoutMs)) {
      timeoutMs = route.timeoutMs;
      this.setTimeoutField(timeoutMs);
    }
    if (timeoutMs > 0) {
      this.timeoutMs = timeoutMs;
      this.deadline = Date.now() + timeoutMs;
      this.timer = setTimeout(this.onDeadline, timeoutMs);
    }
    if (route.maxMessageSize > 0) {
      this.requestGuard = new MessageSizeGuard(route.maxMessageSize);
      this.responseGuard = new MessageSizeGuard(route.maxMessageSize);
    }
    down.handler = this;
    const ended = this.requestEnded;
    if (prefetched !== undefined && prefetched.length > 0) {
      // sniffed bytes: forward them as if they arrived now
      this.requestEnded = false;
      this.attempt();
      prefetched.forEach((chunk, i) => this.requestData(chunk, ended && i === prefetched.length - 1));
      return;
    }
    this.attempt();
  }

  private setTimeoutField(ms: number): void {
    const value = formatGrpcTimeout(ms);
    if (this.timeoutAt === -1) {
      this.upFields.push('grpc-timeout', value);
      this.timeoutAt = this.upFields.length - 1;
    } else {
      this.upFields[this.timeoutAt] = value;
    }
  }

  private attempt(): void {
    const now = Date.now();
    const endpoint = this.route.cluster.pick(now, this.tried);
    if (endpoint === undefined) {
      this.fail(bgError(this.attempts === 0 ? 'BG_NO_HEALTHY_ENDPOINT' : 'BG_UPSTREAM_UNAVAILABLE', { modelId: this.route.modelId }));
      return;
    }
    this.attempts++;
    if (this.attempts > 1 && this.deadline > 0) this.setTimeoutField(this.deadline - now);
    const pool = endpoint.pool;
    if (this.schemeAt !== -1) this.upFields[this.schemeAt] = pool.scheme;
    const replay = this.attempts > 1 ? this.replay : null;
    const bodyless = this.requestEnded && (replay === null || replay.length === 0);
    let up: H2Stream;
    try {
      const entry: PooledSession = pool.acquire();
      up = entry.conn.request(this.upFields, this.neverIndexed, bodyless, this);
    } catch (err) {
      // a connection that can take no more streams (GOAWAY race, ids exhausted): try the next one
      this.endpoint = endpoint;
      this.route.cluster.outlier.failure(endpoint, now);
      this.ctx.logger.debug({ reqId: this.requestId, modelId: this.route.modelId, endpoint: endpoint.address, err: (err as Error).message }, 'upstream request failed');
      if (this.canRetry()) this.retry();
      else this.fail(bgError('BG_UPSTREAM_UNAVAILABLE', { modelId: this.route.modelId }, { cause: err }));
      return;
    }
    endpoint.outstanding++;
    this.up = up;
    this.endpoint = endpoint;
    up.creditTo = this.down;
    this.down.creditTo = up;
    if (replay !== null) for (const chunk of replay) up.sendData(chunk, false, false);
    if (this.requestEnded && !bodyless) up.sendData(EMPTY, true);
  }

  /** Unhooks the current attempt's stream and returns it (maybe still open). */
  private detach(): H2Stream | undefined {
    const up = this.up;
    if (up === undefined) return undefined;
    this.up = undefined;
    (this.endpoint as Endpoint).outstanding--;
    return up;
  }

  private cancelUpstream(): void {
    const up = this.detach();
    if (up !== undefined && !up.closed) up.reset(H2_ERROR.CANCEL);
  }

  private canRetry(): boolean {
    return (
      this.replay !== null &&
      !this.responseStarted &&
      !this.done &&
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
    this.ctx.metrics.gatewayError(this.route.modelId, err.code);
    const fields = { reqId: this.requestId, modelId: this.route.modelId, endpoint: this.endpoint?.address, code: err.code };
    if (err.httpStatus >= 500) this.ctx.logger.warn(fields, err.message);
    else this.ctx.logger.debug(fields, err.message);
    const down = this.down;
    if (!down.closed) {
      if (!this.responseStarted) respondTrailersOnly(down, rescued);
      else down.sendTrailers(rescued.trailers, undefined);
    }
    this.finish(err.grpcCode);
  }

  private finish(status: number): void {
    if (this.finished) return;
    this.finished = true;
    this.status = status;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.ctx.metrics.call(this.route.modelId, this.endpoint, this.status, (performance.now() - this.started) / 1000);
  }

  private readonly onDeadline = (): void => {
    this.timer = undefined;
    this.fail(bgError('BG_UPSTREAM_TIMEOUT', { modelId: this.route.modelId, timeoutMs: Math.round(this.timeoutMs) }));
  };

  // ---- events of both streams

  onHeaders(stream: H2Stream, headers: HeaderList, endStream: boolean): void {
    if (stream === this.down) {
      // request trailers are not part of gRPC, but HTTP/2 allows them: pass them on
      this.requestEnded = true;
      this.up?.sendTrailers(headers.fields, headers.neverIndexed);
      return;
    }
    if (stream !== this.up || this.done) return;
    const endpoint = this.endpoint as Endpoint;
    if (!this.responseStarted) {
      if (endStream) {
        // trailers-only: a status and no messages
        const status = fieldValue(headers.fields, 'grpc-status');
        if (status === UNAVAILABLE) {
          this.route.cluster.outlier.failure(endpoint, Date.now());
          if (this.canRetry()) {
            this.retry();
            return;
          }
        } else {
          this.route.cluster.outlier.success(endpoint);
        }
        this.done = true;
        this.cancelUpstream();
        this.down.sendHeaders(headers.fields, headers.neverIndexed, true);
        this.finish(status === undefined ? GrpcStatus.UNKNOWN : Number(status));
        return;
      }
      this.responseStarted = true;
      this.replay = null;
      this.down.sendHeaders(headers.fields, headers.neverIndexed, false);
      return;
    }
    const status = fieldValue(headers.fields, 'grpc-status');
    if (status === UNAVAILABLE) this.route.cluster.outlier.failure(endpoint, Date.now());
    else this.route.cluster.outlier.success(endpoint);
    this.done = true;
    this.cancelUpstream();
    this.down.sendTrailers(headers.fields, headers.neverIndexed);
    this.finish(status === undefined ? GrpcStatus.UNKNOWN : Number(status));
  }

  onData(stream: H2Stream, data: Buffer, endStream: boolean): void {
    if (stream === this.down) {
      this.requestData(data, endStream);
      return;
    }
    if (stream !== this.up || this.done) {
      stream.consumed(data.length);
      return;
    }
    if (!this.responseStarted || (this.responseGuard !== undefined && this.responseGuard.feed(data) >= 0)) {
      stream.consumed(data.length);
      if (!this.responseStarted) {
        this.fail(bgError('BG_UPSTREAM_ERROR', { modelId: this.route.modelId, upstreamStatus: 'protocol', upstreamMessage: 'DATA before response headers' }));
      } else {
        this.fail(bgError('BG_BODY_TOO_LARGE', { limit: this.route.maxMessageSize }));
      }
      return;
    }
    this.down.sendData(data, false);
    if (endStream) {
      this.fail(
        bgError('BG_UPSTREAM_ERROR', {
          modelId: this.route.modelId,
          upstreamStatus: 'no grpc-status',
          upstreamMessage: 'the backend ended its response without trailers',
        }),
      );
    }
  }

  private requestData(data: Buffer, endStream: boolean): void {
    if (endStream) this.requestEnded = true;
    if (this.done) {
      this.down.consumed(data.length);
      return;
    }
    if (this.requestGuard !== undefined && this.requestGuard.feed(data) >= 0) {
      this.down.consumed(data.length);
      this.fail(bgError('BG_BODY_TOO_LARGE', { limit: this.route.maxMessageSize }));
      return;
    }
    if (this.replay !== null && data.length > 0) {
      this.replayBytes += data.length;
      if (this.replayBytes > this.ctx.retryBufferBytes) this.replay = null;
      else this.replay.push(data);
    }
    const up = this.up;
    if (up !== undefined) up.sendData(data, endStream);
    else this.down.consumed(data.length);
  }

  onReset(stream: H2Stream, code: number): void {
    if (stream === this.down) {
      // the client cancelled or its connection went: cancel upstream too
      if (!this.done) {
        this.done = true;
        this.cancelUpstream();
        this.finish(GrpcStatus.CANCELLED);
      } else {
        this.cancelUpstream();
      }
      return;
    }
    if (stream !== this.up) return;
    this.detach();
    if (this.done) return;
    // reset, refused, or connection lost before the response completed
    const endpoint = this.endpoint as Endpoint;
    this.route.cluster.outlier.failure(endpoint, Date.now());
    this.ctx.logger.debug(
      { reqId: this.requestId, modelId: this.route.modelId, endpoint: endpoint.address, h2Code: code, attempt: this.attempts },
      'upstream stream ended before the response completed',
    );
    if (!this.responseStarted && this.canRetry()) this.retry();
    else this.fail(bgError('BG_UPSTREAM_UNAVAILABLE', { modelId: this.route.modelId }));
  }
}
