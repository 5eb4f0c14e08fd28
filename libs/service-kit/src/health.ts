// Liveness and readiness of one service process, shared by /healthz, /readyz and grpc.health.v1.

export interface CheckState {
  readonly ready: boolean;
  readonly reason?: string;
}

export interface HealthSnapshot {
  /** The process works; false means "restart me". */
  readonly live: boolean;
  /** Live, not shutting down, and every readiness check passes. */
  readonly ready: boolean;
  readonly shuttingDown: boolean;
  readonly reason?: string;
  readonly checks: Readonly<Record<string, CheckState>>;
}

export type HealthListener = (snapshot: HealthSnapshot) => void;

export interface HealthStateOptions {
  /** Checks that exist from the start and are not ready until set: the service is not ready before they pass. */
  readonly checks?: readonly string[];
}

export class HealthState {
  private liveFlag = true;
  private liveReason: string | undefined;
  private shuttingDownFlag = false;
  private readonly checks = new Map<string, CheckState>();
  private readonly listeners = new Set<HealthListener>();

  constructor(options: HealthStateOptions = {}) {
    for (const name of options.checks ?? []) this.checks.set(name, { ready: false, reason: 'starting' });
  }

  get live(): boolean {
    return this.liveFlag;
  }

  get shuttingDown(): boolean {
    return this.shuttingDownFlag;
  }

  setLive(live: boolean, reason?: string): void {
    if (this.liveFlag === live && this.liveReason === reason) return;
    this.liveFlag = live;
    this.liveReason = live ? undefined : reason;
    this.emit();
  }

  /** Set one named readiness check (`models`, `upstream:<id>`, …); creates it when new. */
  setReady(name: string, ready: boolean, reason?: string): void {
    const prev = this.checks.get(name);
    const next: CheckState = ready || reason === undefined ? { ready } : { ready, reason };
    if (prev && prev.ready === next.ready && prev.reason === next.reason) return;
    this.checks.set(name, next);
    this.emit();
  }

  /** Drop a check that no longer applies (a model removed from the routes). */
  removeCheck(name: string): void {
    if (this.checks.delete(name)) this.emit();
  }

  /** From now on not ready, whatever the checks say; shutdown calls this first. */
  markShuttingDown(): void {
    if (this.shuttingDownFlag) return;
    this.shuttingDownFlag = true;
    this.emit();
  }

  /**
   * Ready = live, not shutting down, and every check passes — or only the named ones when given
   * (a check never set counts as failing).
   */
  isReady(names?: readonly string[]): boolean {
    if (!this.liveFlag || this.shuttingDownFlag) return false;
    if (names === undefined) {
      for (const c of this.checks.values()) if (!c.ready) return false;
      return true;
    }
    return names.every((n) => this.checks.get(n)?.ready === true);
  }

  snapshot(): HealthSnapshot {
    const reason = !this.liveFlag ? (this.liveReason ?? 'not live') : this.shuttingDownFlag ? 'shutting down' : undefined;
    return {
      live: this.liveFlag,
      ready: this.isReady(),
      shuttingDown: this.shuttingDownFlag,
      ...(reason === undefined ? {} : { reason }),
      checks: Object.fromEntries(this.checks),
    };
  }

  /** Called after every change with the new snapshot; returns the unsubscribe function. */
  onChange(listener: HealthListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const snap = this.snapshot();
    let firstError: unknown;
    for (const listener of [...this.listeners]) {
      try {
        listener(snap);
      } catch (err) {
        // one broken listener must not keep the others from hearing about the change
        firstError ??= err;
      }
    }
    if (firstError !== undefined) throw firstError;
  }
}
