import type { Endpoint } from './endpoint';
import type { LbPolicy } from './route-config';

/** Picks an available endpoint, skipping the ones a call already tried. */
export interface LoadBalancer {
  readonly policy: LbPolicy;
  pick(endpoints: readonly Endpoint[], now: number, tried: readonly Endpoint[] | undefined): Endpoint | undefined;
}
