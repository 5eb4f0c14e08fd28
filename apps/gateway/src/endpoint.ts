import { ConnectionPool, type PoolOptions } from './connection-pool';
import type { EndpointSpec, UpstreamTlsSpec } from './route-config';

/** One upstream server of a cluster: its pooled sessions and what health checks and calls said of it. */
export class Endpoint {
  readonly address: string;
  readonly pool: ConnectionPool;
  /** Verdict of active health checks (true until a check says otherwise). */
  healthy = true;
  /** Whether any active check has answered yet. */
  healthKnown = false;
  /** Passive outlier ejection: not picked before this time (ms since epoch). */
  ejectedUntil = 0;
  ejections = 0;
  consecutiveFailures = 0;
  /** Calls in flight (least-request balancing). */
  outstanding = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    poolOptions: PoolOptions,
    tls: UpstreamTlsSpec | undefined,
    onSessionError?: (err: Error) => void,
    /** One address `host` resolved to, dialled instead of the name (DNS discovery of a cluster's servers). */
    readonly ip?: string,
  ) {
    const shown = ip ?? host;
    this.address = shown.includes(':') ? `[${shown}]:${port}` : `${shown}:${port}`;
    this.pool = new ConnectionPool(host, port, poolOptions, tls, onSessionError, ip);
  }

  available(now: number): boolean {
    return this.healthy && this.ejectedUntil <= now;
  }

  toJSON(): Record<string, unknown> {
    const now = Date.now();
    return {
      address: this.address,
      ...(this.ip !== undefined ? { host: this.host } : {}),
      healthy: this.healthy,
      healthChecked: this.healthKnown,
      ejected: this.ejectedUntil > now,
      ...(this.ejectedUntil > now ? { ejectedForMs: this.ejectedUntil - now } : {}),
      outstanding: this.outstanding,
      connections: this.pool.size,
    };
  }
}

export function endpointKey(e: EndpointSpec): string {
  return `${e.host}:${e.port}`;
}
