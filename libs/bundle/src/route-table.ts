import type { BundleModel } from './bundle-manifest';
import { clusterName, SERVING_ENGINE_DEFAULTS, type BackendProtocol, type ServingEngine } from './engines';

export interface Endpoint {
  host: string;
  port: number;
}

export interface ClusterEndpoints {
  /** gRPC endpoints (what the gateway forwards to). */
  endpoints: Endpoint[];
  /** REST endpoints of the same servers. */
  restEndpoints: Endpoint[];
}

/** Where calls carrying `model-id: <modelId>` go. */
export interface Route extends ClusterEndpoints {
  modelId: string;
  /** `s<id>s`: the serving service of the model. */
  cluster: string;
  engine: ServingEngine;
  protocol: BackendProtocol;
}

/** The model fields routing needs. */
export type RoutableModel = Pick<BundleModel, 'id' | 'engine'>;

export interface RouteTableOptions<M extends RoutableModel> {
  /** Host of a model's serving service (default `s<id>s`, its compose / Kubernetes service name). */
  hostFor?: (modelId: string) => string;
  /** Replaces a model's endpoints, e.g. local processes on 127.0.0.1 with their own ports; undefined keeps the defaults. */
  endpointsFor?: (model: M, defaults: ClusterEndpoints) => ClusterEndpoints | undefined;
}

/** One route per model, in bundle order, with SERVING_ENGINE_DEFAULTS ports unless overridden. */
export function routeTable<M extends RoutableModel>(bundle: { models: readonly M[] }, options: RouteTableOptions<M> = {}): Route[] {
  return bundle.models.map((model) => {
    const defaults = SERVING_ENGINE_DEFAULTS[model.engine];
    const host = options.hostFor?.(model.id) ?? clusterName(model.id);
    const fallback: ClusterEndpoints = {
      endpoints: [{ host, port: defaults.grpcPort }],
      restEndpoints: [{ host, port: defaults.restPort }],
    };
    const chosen = options.endpointsFor?.(model, fallback) ?? fallback;
    for (const endpoint of [...chosen.endpoints, ...chosen.restEndpoints]) checkEndpoint(model.id, endpoint);
    if (chosen.endpoints.length === 0) throw new RangeError(`model ${model.id}: a route needs at least one gRPC endpoint`);
    return {
      modelId: model.id,
      cluster: clusterName(model.id),
      engine: model.engine,
      protocol: defaults.protocol,
      endpoints: chosen.endpoints.map((e) => ({ host: e.host, port: e.port })),
      restEndpoints: chosen.restEndpoints.map((e) => ({ host: e.host, port: e.port })),
    };
  });
}

function checkEndpoint(modelId: string, { host, port }: Endpoint): void {
  if (typeof host !== 'string' || host === '') throw new RangeError(`model ${modelId}: endpoint host must be a non-empty string`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`model ${modelId}: endpoint port must be an integer in 1..65535, got ${String(port)}`);
  }
}
