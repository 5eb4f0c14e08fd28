import type { Endpoint } from './endpoint';
import type { LoadBalancer } from './load-balancer';

/** Fewest calls in flight; ties go round the endpoints so equal ones share the load. */
export class LeastRequestBalancer implements LoadBalancer {
  readonly policy = 'least_request';
  private start = 0;

  pick(endpoints: readonly Endpoint[], now: number, tried: readonly Endpoint[] | undefined): Endpoint | undefined {
    const n = endpoints.length;
    let best: Endpoint | undefined;
    for (let i = 0; i < n; i++) {
      const e = endpoints[(this.start + i) % n] as Endpoint;
      if (!e.available(now) || (tried !== undefined && tried.includes(e))) continue;
      if (best === undefined || e.outstanding < best.outstanding) best = e;
    }
    this.start = n === 0 ? 0 : (this.start + 1) % n;
    return best;
  }
}
