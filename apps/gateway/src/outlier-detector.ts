import type { Endpoint } from './endpoint';
import type { OutlierSpec } from './route-config';

/**
 * Passive ejection: an endpoint whose calls fail `consecutiveFailures` times in a row (connect
 * errors, resets, UNAVAILABLE) is skipped for baseEjection × times-ejected (capped), while at most
 * maxEjectionPercent of the cluster (but always at least one endpoint) is out.
 */
export class OutlierDetector {
  constructor(
    private readonly spec: OutlierSpec,
    private readonly endpoints: readonly Endpoint[],
    private readonly onEject?: (endpoint: Endpoint, forMs: number) => void,
  ) {}

  success(e: Endpoint): void {
    if (e.consecutiveFailures !== 0) e.consecutiveFailures = 0;
  }

  failure(e: Endpoint, now: number): void {
    if (this.spec.consecutiveFailures === 0) return;
    e.consecutiveFailures++;
    if (e.consecutiveFailures < this.spec.consecutiveFailures || e.ejectedUntil > now) return;
    let ejected = 0;
    for (const other of this.endpoints) if (other.ejectedUntil > now) ejected++;
    const allowed = Math.max(1, Math.floor((this.endpoints.length * this.spec.maxEjectionPercent) / 100));
    if (ejected >= allowed) return;
    e.ejections++;
    const forMs = Math.min(this.spec.baseEjectionMs * e.ejections, this.spec.maxEjectionMs);
    e.ejectedUntil = now + forMs;
    e.consecutiveFailures = 0;
    this.onEject?.(e, forMs);
  }
}
