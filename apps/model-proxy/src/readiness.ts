import type { HealthState, Logger } from '@bundlegate/service-kit';
import type { InferenceBackend } from './backend';
import type { ModelCatalog } from './model-catalog';

export interface ReadinessOptions {
  readonly backend: InferenceBackend;
  readonly catalog: ModelCatalog;
  readonly health: HealthState;
  readonly logger: Logger;
  /** Deadline of each probe. */
  readonly probeTimeoutMs: number;
  /** Results younger than this are reused by `current()`. */
  readonly maxAgeMs: number;
}

/** Readiness check names in the HealthState: the backend and one per model. */
export const BACKEND_CHECK = 'backend';
export const modelCheck = (id: string): string => `model:${id}`;

/**
 * Asks the backend whether it and each model are ready, and records the answers in the HealthState that /readyz and
 * grpc.health.v1 serve. Probes run on a timer and on demand; concurrent callers share one round.
 */
export class Readiness {
  private round: Promise<void> | undefined;
  private checkedAt = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ReadinessOptions) {}

  /** Probe every `intervalMs` until `stop()`. */
  start(intervalMs: number): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Whether each model is ready, probing first when the last answers are older than `maxAgeMs`. */
  async current(): Promise<ReadonlyMap<string, boolean>> {
    if (Date.now() - this.checkedAt > this.options.maxAgeMs) await this.refresh();
    const checks = this.options.health.snapshot().checks;
    return new Map(this.options.catalog.models.map((m) => [m.id, checks[modelCheck(m.id)]?.ready === true]));
  }

  /** One probe round (shared by concurrent callers). */
  refresh(): Promise<void> {
    this.round ??= this.probe().finally(() => {
      this.round = undefined;
      this.checkedAt = Date.now();
    });
    return this.round;
  }

  private async probe(): Promise<void> {
    const { backend, catalog, health, logger, probeTimeoutMs } = this.options;
    const deadline = Date.now() + probeTimeoutMs;
    const ask = async (check: string, probe: () => Promise<boolean>): Promise<void> => {
      try {
        const ready = await probe();
        health.setReady(check, ready, ready ? undefined : 'reports not ready');
      } catch (error) {
        logger.debug({ err: error, check }, 'readiness probe failed');
        health.setReady(check, false, error instanceof Error ? error.message : String(error));
      }
    };
    await Promise.all([
      ask(BACKEND_CHECK, () => backend.ready(deadline)),
      ...catalog.models.map((m) => ask(modelCheck(m.id), () => backend.modelReady(m.plan, deadline))),
    ]);
  }
}
