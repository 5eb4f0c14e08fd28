import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
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

/** Every address a host name resolves to. */
export type LookupAll = (host: string) => Promise<string[]>;

/** The system resolver (getaddrinfo, as a connect by name uses), all addresses in its order. */
export const systemLookup: LookupAll = async (host) => (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);

/** What a new DNS answer changes: addresses to add and to drop (order kept, duplicates ignored). */
export function addressChanges(current: readonly string[], resolved: readonly string[]): { add: string[]; drop: string[] } {
  const now = new Set(current);
  const next = new Set(resolved);
  return { add: [...next].filter((a) => !now.has(a)), drop: [...now].filter((a) => !next.has(a)) };
}

export interface ClusterDeps {
  readonly poolOptions: PoolOptions;
  readonly logger: Logger;
  /**
   * How often endpoint host names are resolved again; each address becomes an endpoint of its own (a headless
   * Service's pods, several A records). 0: names are dialled as they are, one endpoint per name.
   */
  readonly dnsRefreshMs?: number;
  /** The resolver (tests inject one); the system's by default. */
  readonly lookup?: LookupAll;
  readonly onEject?: (cluster: Cluster, endpoint: Endpoint) => void;
  readonly onHealthChange?: (cluster: Cluster, endpoint: Endpoint) => void;
}

/** A model's serving endpoints with their balancer, active health checker and outlier detector. */
export class Cluster {
  readonly name: string;
  readonly modelId: string;
  /** Changes in place as DNS answers change; the balancer, checks and outlier detector share this array. */
  readonly endpoints: Endpoint[];
  readonly restEndpoints: readonly EndpointSpec[];
  readonly balancer: LoadBalancer;
  readonly outlier: OutlierDetector;
  readonly healthChecker: HealthChecker | undefined;
  /** Identity of the definition: a reload that leaves it unchanged keeps this cluster and its warm sessions. */
  readonly key: string;
  private restNext = 0;
  /** Which of spec.endpoints each endpoint came from. */
  private readonly origin = new WeakMap<Endpoint, number>();
  private dnsTimer: NodeJS.Timeout | undefined;
  private readonly dnsErrors = new Map<number, string>();
  private stopped = false;

  constructor(
    readonly spec: RouteSpec,
    private readonly deps: ClusterDeps,
  ) {
    this.name = spec.cluster;
    this.modelId = spec.modelId;
    this.key = clusterKey(spec);
    const log = deps.logger;
    // names are dialled as they are until the first DNS answer replaces them with their addresses
    this.endpoints = spec.endpoints.map((_, i) => this.newEndpoint(i, undefined));
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
    const every = this.deps.dnsRefreshMs ?? 0;
    if (every > 0 && this.spec.endpoints.some((e) => isIP(e.host) === 0)) {
      void this.resolve();
      this.dnsTimer = setInterval(() => void this.resolve(), every);
      this.dnsTimer.unref();
    }
  }

  private newEndpoint(index: number, ip: string | undefined): Endpoint {
    const spec = this.spec.endpoints[index] as EndpointSpec;
    const endpoint = new Endpoint(
      spec.host,
      spec.port,
      this.deps.poolOptions,
      this.spec.tls,
      (err) => this.deps.logger.debug({ cluster: this.name, endpoint: endpoint.address, err: err.message }, 'upstream session error'),
      ip,
    );
    this.origin.set(endpoint, index);
    return endpoint;
  }

  /**
   * Resolves every endpoint name once more and makes one endpoint per address: new addresses join (warmed, checked
   * at once), vanished ones leave (their calls in flight finish). A failed or empty answer changes nothing.
   */
  async resolve(): Promise<void> {
    const lookupAll = this.deps.lookup ?? systemLookup;
    await Promise.all(
      this.spec.endpoints.map(async (spec, index) => {
        if (isIP(spec.host) !== 0) return;
        let resolved: string[];
        try {
          resolved = await lookupAll(spec.host);
        } catch (err) {
          const message = (err as Error).message;
          if (this.dnsErrors.get(index) !== message) {
            this.deps.logger.warn({ cluster: this.name, host: spec.host, err: message }, 'endpoint name did not resolve; keeping its endpoints');
          }
          this.dnsErrors.set(index, message);
          return;
        }
        this.dnsErrors.delete(index);
        if (resolved.length === 0 || this.stopped) return;
        this.applyAddresses(index, resolved);
      }),
    );
  }

  private applyAddresses(index: number, resolved: readonly string[]): void {
    const mine = this.endpoints.filter((e) => this.origin.get(e) === index);
    const byName = mine.find((e) => e.ip === undefined);
    const { add, drop } = addressChanges(
      mine.flatMap((e) => (e.ip === undefined ? [] : [e.ip])),
      resolved,
    );
    if (add.length === 0 && drop.length === 0 && byName === undefined) return;
    const added = add.map((ip) => {
      const e = this.newEndpoint(index, ip);
      // the name was dialled until now, reaching one of these addresses: what checks said of it holds for them
      if (byName !== undefined) {
        e.healthy = byName.healthy;
        e.healthKnown = byName.healthKnown;
      }
      return e;
    });
    const leaving = mine.filter((e) => e.ip === undefined || drop.includes(e.ip));
    for (const e of leaving) this.endpoints.splice(this.endpoints.indexOf(e), 1);
    this.endpoints.push(...added);
    for (const e of added) e.pool.warm();
    for (const e of leaving) e.pool.close();
    this.deps.logger.info(
      { cluster: this.name, host: this.spec.endpoints[index]?.host, addresses: resolved, added: add, dropped: drop },
      'endpoint addresses changed',
    );
    if (added.length > 0) void this.healthChecker?.round();
    this.deps.onHealthChange?.(this, added[0] ?? (leaving[0] as Endpoint));
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
    const paired = n === this.spec.endpoints.length;
    const now = Date.now();
    for (let i = 0; i < n; i++) {
      const index = (this.restNext + i) % n;
      if (paired && !this.endpoints.some((e) => this.origin.get(e) === index && e.available(now))) continue;
      this.restNext = (index + 1) % n;
      return this.restEndpoints[index];
    }
    return n === 0 ? undefined : this.restEndpoints[this.restNext++ % n];
  }

  /** Stops checks and lets in-flight calls finish on their sessions. */
  close(): void {
    this.stop();
    for (const e of this.endpoints) e.pool.close();
  }

  destroy(): void {
    this.stop();
    for (const e of this.endpoints) e.pool.destroy();
  }

  private stop(): void {
    this.stopped = true;
    this.healthChecker?.stop();
    if (this.dnsTimer) clearInterval(this.dnsTimer);
    this.dnsTimer = undefined;
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
