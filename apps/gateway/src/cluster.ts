import type { Logger } from '@bundlegate/service-kit';
import type { PoolOptions } from './connection-pool';
import { Endpoint, endpointKey } from './endpoint';
import { HealthChecker } from './health-checker';
import type { LoadBalancer } from './load-balancer';
import { LeastRequestBalancer } from './load-balancer-least-request';
import { RoundRobinBalancer } from './load-balancer-round-robin';
import { OutlierDetector } from './outlier-detector';
import type { EndpointSpec, LbPolicy, RouteSpec } from './route-config';

export function createLoadBalancer(policy: LbPolicy): LoadBalancer {
  return policy === 'least_request' ? new LeastRequestBalancer() : new RoundRobinBalancer();
}

export interface ClusterDeps {
  readonly poolOptions: PoolOptions;
  readonly logger: Logger;
  readonly onEject?: (cluster: Cluster, endpoint: Endpoint) => void;
  readonly onHealthChange?: (cluster: Cluster, endpoint: Endpoint) => void;
}

/** A model's serving endpoints with their balancer, active health checker and outlier detector. */
export class Cluster {
  readonly name: string;
  readonly modelId: string;
  readonly endpoints: readonly Endpoint[];
  readonly restEndpoints: readonly EndpointSpec[];
  readonly balancer: LoadBalancer;
  readonly outlier: OutlierDetector;
  readonly healthChecker: HealthChecker | undefined;
  /** Identity of the definition: a reload that leaves it unchanged keeps this cluster and its warm sessions. */
  readonly key: string;
  private restNext = 0;

  constructor(
    readonly spec: RouteSpec,
    deps: ClusterDeps,
  ) {
    this.name = spec.cluster;
    this.modelId = spec.modelId;
    this.key = clusterKey(spec);
    const log = deps.logger;
    this.endpoints = spec.endpoints.map(
      (e) =>
        new Endpoint(e.host, e.port, deps.poolOptions, spec.tls, (err) =>
          log.debug({ cluster: this.name, endpoint: endpointKey(e), err: err.message }, 'upstream session error'),
        ),
    );
    this.restEndpoints = spec.restEndpoints;
    this.balancer = createLoadBalancer(spec.lbPolicy);
    this.outlier = new OutlierDetector(spec.outlier, this.endpoints, (e, forMs) => {
      log.warn({ cluster: this.name, endpoint: e.address, forMs }, 'endpoint ejected after consecutive failures');
      deps.onEject?.(this, e);
    });
    this.healthChecker =
      spec.healthCheck.kind === 'none'
        ? undefined
        : new HealthChecker(spec.healthCheck, spec.modelId, this.endpoints, (e, outcome) => {
            log.info({ cluster: this.name, endpoint: e.address, healthy: e.healthy, reason: outcome.reason }, 'endpoint health changed');
            deps.onHealthChange?.(this, e);
          });
  }

  start(): void {
    for (const e of this.endpoints) e.pool.warm();
    this.healthChecker?.start();
  }

  /**
   * An endpoint for a call: an available one the call has not tried, else an available one it has,
   * else (every endpoint ejected) a health-check-healthy one — ejection never empties a cluster
   * that checks say is up.
   */
  pick(now: number, tried: readonly Endpoint[] | undefined): Endpoint | undefined {
    const e = this.balancer.pick(this.endpoints, now, tried);
    if (e !== undefined) return e;
    if (tried !== undefined) {
      const again = this.balancer.pick(this.endpoints, now, undefined);
      if (again !== undefined) return again;
    }
    let best: Endpoint | undefined;
    for (const c of this.endpoints) {
      if (c.healthy && (best === undefined || c.ejectedUntil < best.ejectedUntil)) best = c;
    }
    return best;
  }

  /** Some endpoint passes active checks (or checks are off and it is not ejected). */
  hasHealthyEndpoint(): boolean {
    const now = Date.now();
    if (this.healthChecker === undefined) return this.endpoints.some((e) => e.available(now) || e.healthy);
    return this.endpoints.some((e) => e.healthKnown && e.healthy);
  }

  /**
   * A REST endpoint, round robin. When REST endpoints pair one-to-one with gRPC endpoints (same
   * servers), those whose gRPC side is unhealthy are skipped.
   */
  pickRest(): EndpointSpec | undefined {
    const n = this.restEndpoints.length;
    const paired = n === this.endpoints.length;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const index = (this.restNext + i) % n;
      if (paired && !(this.endpoints[index] as Endpoint).available(now)) continue;
      this.restNext = (index + 1) % n;
      return this.restEndpoints[index];
    }
    return n === 0 ? undefined : this.restEndpoints[this.restNext++ % n];
  }

  /** Stops checks and lets in-flight calls finish on their sessions. */
  close(): void {
    this.healthChecker?.stop();
    for (const e of this.endpoints) e.pool.close();
  }

  destroy(): void {
    this.healthChecker?.stop();
    for (const e of this.endpoints) e.pool.destroy();
  }

  toJSON(): Record<string, unknown> {
    return {
      cluster: this.name,
      lbPolicy: this.balancer.policy,
      healthCheck: this.spec.healthCheck.kind,
      endpoints: this.endpoints.map((e) => e.toJSON()),
      restEndpoints: this.restEndpoints.map(endpointKey),
    };
  }
}

export function clusterKey(spec: RouteSpec): string {
  return JSON.stringify(spec);
}
