import type { Endpoint } from './endpoint';
import type { LoadBalancer } from './load-balancer';

export class RoundRobinBalancer implements LoadBalancer {
  readonly policy = 'round_robin';
  private next = 0;

  pick(endpoints: readonly Endpoint[], now: number, tried: readonly Endpoint[] | undefined): Endpoint | undefined {
    const n = endpoints.length;
    for (let i = 0; i < n; i++) {
      const index = (this.next + i) % n;
      const e = endpoints[index] as Endpoint;
      if (e.available(now) && (tried === undefined || !tried.includes(e))) {
        this.next = (index + 1) % n;
        return e;
      }
    }
    return undefined;
  }
}
