import { health, kserve } from '@bundlegate/protos';
import type { Endpoint } from './endpoint';
import { GrpcStatus } from './grpc-wire';
import type { HealthCheckSpec } from './route-config';
import { unaryCall } from './upstream-unary';

const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const MODEL_READY_PATH = '/inference.GRPCInferenceService/ModelReady';

export interface CheckOutcome {
  readonly healthy: boolean;
  readonly reason: string;
}

/**
 * One probe. grpc: grpc.health.v1 Check must say SERVING; a server without the health service
 * (UNIMPLEMENTED) counts as up, since it answered on the connection. kserve: ModelReady must say ready.
 */
export async function probe(endpoint: Endpoint, spec: HealthCheckSpec, modelId: string): Promise<CheckOutcome> {
  if (spec.kind === 'kserve') {
    const name = spec.model ?? modelId;
    const r = await unaryCall(endpoint.pool, MODEL_READY_PATH, kserve.ModelReadyRequest.encode({ name, version: '' }).finish(), spec.timeoutMs);
    if (r.code !== GrpcStatus.OK) return { healthy: false, reason: `ModelReady: ${GrpcStatus[r.code] ?? r.code} ${r.message}`.trim() };
    const ready = r.response !== undefined && kserve.ModelReadyResponse.decode(r.response).ready;
    return { healthy: ready, reason: ready ? 'model ready' : `model ${name} not ready` };
  }
  const r = await unaryCall(endpoint.pool, HEALTH_CHECK_PATH, health.HealthCheckRequest.encode({ service: spec.service }).finish(), spec.timeoutMs);
  if (r.code === GrpcStatus.UNIMPLEMENTED) return { healthy: true, reason: 'no grpc.health.v1 service; server answered' };
  if (r.code !== GrpcStatus.OK) return { healthy: false, reason: `Health/Check: ${GrpcStatus[r.code] ?? r.code} ${r.message}`.trim() };
  const status = r.response === undefined ? undefined : health.HealthCheckResponse.decode(r.response).status;
  const serving = status === health.HealthCheckResponse_ServingStatus.SERVING;
  return { healthy: serving, reason: serving ? 'SERVING' : `status ${String(status)}` };
}

/** Active checks of a cluster's endpoints, every interval, with healthy/unhealthy thresholds. */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  // weak: endpoints that DNS discovery drops go with their counts
  private readonly successes = new WeakMap<Endpoint, number>();
  private readonly failures = new WeakMap<Endpoint, number>();
  private running = false;

  constructor(
    private readonly spec: HealthCheckSpec,
    private readonly modelId: string,
    private readonly endpoints: readonly Endpoint[],
    private readonly onChange: (endpoint: Endpoint, outcome: CheckOutcome) => void,
  ) {}

  start(): void {
    if (this.spec.kind === 'none' || this.timer) return;
    void this.round();
    this.timer = setInterval(() => void this.round(), this.spec.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Checks every endpoint once; resolves when all answered (tests and startup use it). */
  async round(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(this.endpoints.map(async (e) => this.record(e, await probe(e, this.spec, this.modelId))));
    } finally {
      this.running = false;
    }
  }

  private record(e: Endpoint, outcome: CheckOutcome): void {
    if (!e.healthKnown) {
      e.healthKnown = true;
      e.healthy = outcome.healthy;
      this.successes.set(e, outcome.healthy ? 1 : 0);
      this.failures.set(e, outcome.healthy ? 0 : 1);
      // the first answer always counts as a change: readiness waits for it
      this.onChange(e, outcome);
      return;
    }
    if (outcome.healthy) {
      const s = (this.successes.get(e) ?? 0) + 1;
      this.successes.set(e, s);
      this.failures.set(e, 0);
      if (!e.healthy && s >= this.spec.healthyThreshold) {
        e.healthy = true;
        this.onChange(e, outcome);
      }
    } else {
      const f = (this.failures.get(e) ?? 0) + 1;
      this.failures.set(e, f);
      this.successes.set(e, 0);
      if (e.healthy && f >= this.spec.unhealthyThreshold) {
        e.healthy = false;
        this.onChange(e, outcome);
      }
    }
  }
}
