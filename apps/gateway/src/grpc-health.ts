import { bgError, type BgError } from '@bundlegate/service-kit';
import { health } from '@bundlegate/protos';
import type { H2Stream, StreamHandler } from './h2-connection';
import { firstMessage, frameMessage } from './grpc-wire';
import { rescue, respondTrailersOnly } from './rescue';
import type { RouteTable } from './route-table';

// grpc.health.v1.Health answered by the gateway itself for calls without `model-id`
// (https://github.com/grpc/grpc/blob/master/doc/health-checking.md): "" is the gateway's
// readiness, a model id is that route's cluster. Calls with `model-id` are forwarded as any other.

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
export const HEALTH_WATCH_PATH = '/grpc.health.v1.Health/Watch';

const ServingStatus = health.HealthCheckResponse_ServingStatus;
type ServingStatus = health.HealthCheckResponse_ServingStatus;

/** A HealthCheckRequest is a service name: anything much larger is not one. */
const MAX_REQUEST_BYTES = 16 * 1024;
export const DEFAULT_WATCH_INTERVAL_MS = 1000;

const RESPONSE_HEADERS: readonly string[] = [':status', '200', 'content-type', 'application/grpc'];
const OK_TRAILERS: readonly string[] = ['grpc-status', '0'];

const DROP: StreamHandler = {
  onHeaders: () => undefined,
  onData: (stream, data) => stream.consumed(data.length),
  onReset: () => undefined,
};

/** What the health answers read: the listener's RouterState. */
export interface HealthSource {
  readonly table: RouteTable;
  readonly draining: boolean;
  readiness(): { ready: boolean; reasons: string[] };
}

interface Watch {
  /** Sends the status when it changed; ends the stream while draining. */
  tick(): void;
}

export class GatewayHealth {
  private readonly watches = new Set<Watch>();

  constructor(
    private readonly source: HealthSource,
    /** Watch re-reads the status this often: endpoint health also changes with time (ejections expire). */
    private readonly watchIntervalMs = DEFAULT_WATCH_INTERVAL_MS,
  ) {}

  /** `""` → the gateway's readiness (what /readyz says); a model id → its cluster; else SERVICE_UNKNOWN. */
  statusOf(service: string): ServingStatus {
    const source = this.source;
    if (service === '') return source.readiness().ready ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    const route = source.table.apply(service);
    if (route === undefined) return ServingStatus.SERVICE_UNKNOWN;
    return !source.draining && route.cluster.hasHealthyEndpoint() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }

  /** Takes over a Check (`watch` false) or Watch stream: reads its one request message, then answers. */
  serve(stream: H2Stream, watch: boolean, endStream: boolean): void {
    if (endStream) {
      stream.handler = DROP;
      this.answer(stream, watch, Buffer.alloc(0));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const complete = (): void => {
      stream.handler = DROP;
      this.answer(stream, watch, Buffer.concat(chunks, size));
    };
    stream.handler = {
      onHeaders: (_s, _h, end) => {
        if (end) complete();
      },
      onData: (s, data, end) => {
        s.consumed(data.length);
        size += data.length;
        if (size > MAX_REQUEST_BYTES) {
          s.handler = DROP;
          respondTrailersOnly(s, rescue(bgError('BG_BODY_TOO_LARGE', { limit: MAX_REQUEST_BYTES })));
          return;
        }
        chunks.push(data);
        if (end) complete();
      },
      onReset: () => undefined,
    };
  }

  /** Pushes the current status to every Watch now (the listener calls it when draining starts). */
  refresh(): void {
    for (const w of [...this.watches]) w.tick();
  }

  get activeWatches(): number {
    return this.watches.size;
  }

  private answer(stream: H2Stream, watch: boolean, body: Buffer): void {
    if (stream.closed) return;
    const request = decodeRequest(body);
    if (request instanceof Error) {
      respondTrailersOnly(stream, rescue(request));
      return;
    }
    const status = this.statusOf(request.service);
    if (!watch) {
      if (status === ServingStatus.SERVICE_UNKNOWN) {
        respondTrailersOnly(stream, rescue(bgError('BG_UNKNOWN_MODEL', { modelId: request.service, known: this.source.table.knownIds })));
        return;
      }
      stream.sendHeaders(RESPONSE_HEADERS, undefined, false);
      stream.sendData(encodeResponse(status), false);
      stream.sendTrailers(OK_TRAILERS, undefined);
      return;
    }
    this.watch(stream, request.service, status);
  }

  /** Watch: the status now, then each change; an unknown service stays open as SERVICE_UNKNOWN (spec). */
  private watch(stream: H2Stream, service: string, first: ServingStatus): void {
    stream.sendHeaders(RESPONSE_HEADERS, undefined, false);
    stream.sendData(encodeResponse(first), false);
    let last = first;
    const stop = (): void => {
      clearInterval(timer);
      this.watches.delete(w);
    };
    const w: Watch = {
      tick: () => {
        if (stream.closed) {
          stop();
          return;
        }
        const now = this.statusOf(service);
        if (now !== last) {
          last = now;
          stream.sendData(encodeResponse(now), false);
        }
        // an open stream would hold the connection until the drain timeout cuts it
        if (this.source.draining) {
          stop();
          stream.sendTrailers(OK_TRAILERS, undefined);
        }
      },
    };
    if (this.source.draining) {
      stream.sendTrailers(OK_TRAILERS, undefined);
      return;
    }
    this.watches.add(w);
    const timer = setInterval(w.tick, this.watchIntervalMs);
    timer.unref();
    stream.handler = { ...DROP, onReset: stop };
  }
}

function decodeRequest(body: Buffer): health.HealthCheckRequest | BgError {
  const message = firstMessage(body);
  const invalid = (): BgError => bgError('BG_INVALID_ARGUMENT', { field: 'request', expected: 'one uncompressed grpc.health.v1.HealthCheckRequest message' });
  if (message === undefined || body.length !== 5 + message.length) return invalid();
  try {
    return health.HealthCheckRequest.decode(message);
  } catch {
    return invalid();
  }
}

function encodeResponse(status: ServingStatus): Buffer {
  return frameMessage(health.HealthCheckResponse.encode({ status }).finish());
}
