import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_SECONDS } from '@bundlegate/service-kit';
import type { Endpoint } from './endpoint';
import { grpcCodeName } from './grpc-wire';

interface EndpointSeries {
  readonly duration: Histogram.Internal<string>;
  readonly byCode: (Counter.Internal | undefined)[];
}

/** What the gateway exports on /metrics; label children are cached per endpoint so a call costs no label hashing. */
export class GatewayMetrics {
  readonly requests: Counter<'model_id' | 'endpoint' | 'code'>;
  readonly duration: Histogram<'model_id' | 'endpoint'>;
  readonly gatewayErrors: Counter<'model_id' | 'code'>;
  readonly retries: Counter<'model_id'>;
  readonly ejections: Counter<'model_id' | 'endpoint'>;
  readonly restRequests: Counter<'model_id' | 'status'>;
  readonly reloads: Counter<'result'>;
  readonly endpointHealthy: Gauge<'model_id' | 'endpoint'>;
  readonly connections: Gauge<'model_id' | 'endpoint'>;
  private readonly series = new WeakMap<Endpoint, EndpointSeries>();

  constructor(registry: Registry, snapshot: () => Iterable<{ modelId: string; endpoints: readonly Endpoint[] }>) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'gateway_grpc_requests_total',
      help: 'gRPC calls forwarded, by model id, endpoint and final grpc-status name.',
      labelNames: ['model_id', 'endpoint', 'code'],
      registers,
    });
    this.duration = new Histogram({
      name: 'gateway_grpc_request_duration_seconds',
      help: 'gRPC call latency through the gateway, first request byte to last response byte.',
      labelNames: ['model_id', 'endpoint'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.gatewayErrors = new Counter({
      name: 'gateway_errors_total',
      help: 'Errors the gateway made itself (x-gateway-error), by registry code.',
      labelNames: ['model_id', 'code'],
      registers,
    });
    this.retries = new Counter({ name: 'gateway_retries_total', help: 'Calls retried on another attempt.', labelNames: ['model_id'], registers });
    this.ejections = new Counter({
      name: 'gateway_outlier_ejections_total',
      help: 'Endpoints ejected by passive outlier detection.',
      labelNames: ['model_id', 'endpoint'],
      registers,
    });
    this.restRequests = new Counter({
      name: 'gateway_rest_requests_total',
      help: 'REST calls forwarded, by model id and HTTP status.',
      labelNames: ['model_id', 'status'],
      registers,
    });
    this.reloads = new Counter({ name: 'gateway_route_reloads_total', help: 'Route table reloads.', labelNames: ['result'], registers });
    this.endpointHealthy = new Gauge({
      name: 'gateway_endpoint_healthy',
      help: '1 when an endpoint is healthy and not ejected.',
      labelNames: ['model_id', 'endpoint'],
      registers,
      collect: () => {
        this.endpointHealthy.reset();
        this.connections.reset();
        const now = Date.now();
        for (const route of snapshot()) {
          for (const e of route.endpoints) {
            this.endpointHealthy.set({ model_id: route.modelId, endpoint: e.address }, e.available(now) ? 1 : 0);
            this.connections.set({ model_id: route.modelId, endpoint: e.address }, e.pool.size);
          }
        }
      },
    });
    this.connections = new Gauge({
      name: 'gateway_upstream_connections',
      help: 'Open HTTP/2 sessions per endpoint.',
      labelNames: ['model_id', 'endpoint'],
      registers,
    });
  }

  /** One finished call. `endpoint` is undefined when the gateway answered without an upstream. */
  call(modelId: string, endpoint: Endpoint | undefined, code: number, seconds: number): void {
    if (endpoint === undefined) {
      this.requests.inc({ model_id: modelId, endpoint: '', code: grpcCodeName(code) });
      return;
    }
    let s = this.series.get(endpoint);
    if (s === undefined) {
      s = { duration: this.duration.labels(modelId, endpoint.address), byCode: [] };
      this.series.set(endpoint, s);
    }
    let c = s.byCode[code];
    if (c === undefined) c = s.byCode[code] = this.requests.labels(modelId, endpoint.address, grpcCodeName(code));
    c.inc();
    s.duration.observe(seconds);
  }

  gatewayError(modelId: string, code: string): void {
    this.gatewayErrors.inc({ model_id: modelId, code });
  }
}
