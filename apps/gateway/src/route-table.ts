import { Cluster, clusterKey, type ClusterDeps } from './cluster';
import { ModelIdMatcher, RestPathMatcher } from './matcher';
import type { RouteSpec } from './route-config';

/** Where one model's calls go and the limits that apply to them. */
export class Route {
  readonly modelId: string;
  readonly maxMessageSize: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;

  constructor(readonly cluster: Cluster) {
    const spec = cluster.spec;
    this.modelId = spec.modelId;
    this.maxMessageSize = spec.maxMessageSize;
    this.timeoutMs = spec.timeoutMs;
    this.maxAttempts = spec.maxAttempts;
  }

  toString(): string {
    return `${this.modelId} → ${this.cluster.name} [${this.cluster.endpoints.map((e) => e.address).join(', ')}] (${this.cluster.balancer.policy})`;
  }

  toJSON(): Record<string, unknown> {
    return {
      modelId: this.modelId,
      ...this.cluster.toJSON(),
      maxMessageSize: this.maxMessageSize,
      timeoutMs: this.timeoutMs,
      maxAttempts: this.maxAttempts,
    };
  }
}

/** The compiled route table: immutable; a reload compiles a new one and swaps it in. */
export class RouteTable {
  readonly byModelId: ModelIdMatcher<Route>;
  readonly restPath = new RestPathMatcher();
  /** For NOT_FOUND messages: the ids a client could have meant. */
  readonly knownIds: readonly string[];

  constructor(readonly routes: readonly Route[]) {
    this.byModelId = new ModelIdMatcher(routes.map((r) => [r.modelId, r] as const));
    this.knownIds = routes.map((r) => r.modelId);
  }

  apply(modelId: string): Route | undefined {
    return this.byModelId.apply(modelId);
  }

  get clusters(): Cluster[] {
    return this.routes.map((r) => r.cluster);
  }

  toString(): string {
    return this.routes.map((r) => r.toString()).join('\n');
  }

  toJSON(): unknown {
    return { routes: this.routes.map((r) => r.toJSON()) };
  }
}

/**
 * Compiles route definitions. Clusters whose definition did not change are taken over from
 * `previous` (sessions stay warm, checks keep their state); the ones no longer used are returned
 * as `retired` for the caller to close once it swapped tables.
 */
export function compileRoutes(
  specs: readonly RouteSpec[],
  deps: ClusterDeps,
  previous?: RouteTable,
): { table: RouteTable; created: Cluster[]; retired: Cluster[] } {
  const reusable = new Map<string, Cluster>();
  for (const c of previous?.clusters ?? []) reusable.set(c.key, c);
  const created: Cluster[] = [];
  const routes = specs.map((spec) => {
    const key = clusterKey(spec);
    const kept = reusable.get(key);
    if (kept) {
      reusable.delete(key);
      return new Route(kept);
    }
    const cluster = new Cluster(spec, deps);
    created.push(cluster);
    return new Route(cluster);
  });
  return { table: new RouteTable(routes), created, retired: [...reusable.values()] };
}
