import type { Logger } from 'pino';
import type { HealthState } from './health';

// Graceful stop on SIGTERM/SIGINT: not ready first, then the service's steps in order, then exit.

export interface ShutdownStep {
  /** For the log: "stop accepting", "drain grpc", "close onnx sessions". */
  readonly name: string;
  readonly run: () => Promise<void> | void;
}

export interface ShutdownOptions {
  readonly logger: Logger;
  /** The whole shutdown must finish within this, or the process exits 1. */
  readonly drainTimeoutMs: number;
  /** Run in order, each awaited: typically stop accepting, drain in-flight work, close resources. */
  readonly steps: readonly ShutdownStep[];
  /** Marked shutting down (so /readyz and gRPC health report not ready) before the first step. */
  readonly health?: HealthState;
  readonly signals?: readonly NodeJS.Signals[];
  /** Defaults to process.exit; tests pass their own. */
  readonly exit?: (code: number) => void;
}

export interface ShutdownHandle {
  /** Start shutting down as if a signal came; resolves with the exit code once `exit` was called. */
  shutdown(reason: string): Promise<number>;
  /** Remove the signal handlers (the steps are not run). */
  dispose(): void;
}

/**
 * Exit codes: 0 when every step finished in time; 1 when a step threw, when `drainTimeoutMs`
 * passed, or when a second signal came while stopping.
 */
export function installShutdown(options: ShutdownOptions): ShutdownHandle {
  const { logger, health, steps, drainTimeoutMs } = options;
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let running: Promise<number> | undefined;
  let exited = false;

  const finish = (code: number): number => {
    if (exited) return code;
    exited = true;
    let gone = false;
    const go = (): void => {
      if (gone) return;
      gone = true;
      exit(code);
    };
    // an async log destination still holds the last lines: exit once they are written (or after 1 s)
    setTimeout(go, 1000).unref();
    try {
      logger.flush(() => go());
    } catch {
      go();
    }
    return code;
  };

  const run = async (reason: string): Promise<number> => {
    logger.info({ reason, drainTimeoutMs }, 'shutting down');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<number>((resolve) => {
      timer = setTimeout(() => {
        logger.error({ drainTimeoutMs }, 'shutdown timed out; exiting');
        resolve(finish(1));
      }, drainTimeoutMs);
    });
    const work = (async () => {
      let failed = false;
      try {
        health?.markShuttingDown();
      } catch (err) {
        failed = true;
        logger.error({ err }, 'a health listener failed while marking shutdown');
      }
      for (const step of steps) {
        if (exited) return 1;
        const started = performance.now();
        try {
          await step.run();
          logger.info({ step: step.name, ms: Math.round(performance.now() - started) }, 'shutdown step done');
        } catch (err) {
          failed = true;
          logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
      if (!exited) logger.info({ code: failed ? 1 : 0 }, 'stopped');
      return finish(failed ? 1 : 0);
    })();
    return Promise.race([work, timedOut]);
  };

  const onSignal = (signal: NodeJS.Signals): void => {
    if (running) {
      logger.warn({ signal }, 'second signal while shutting down; exiting now');
      finish(1);
      return;
    }
    running = run(signal);
  };
  for (const s of signals) process.on(s, onSignal);

  return {
    shutdown(reason) {
      running ??= run(reason);
      return running;
    },
    dispose() {
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
