import { ReadinessTimeoutError, waitUntilReady, type Probe } from './readiness';
import { describeExit, Supervisor, type ChildExit, type ChildSpec } from './supervisor';

// A stack run as child processes: jobs first (each must exit 0), then services one at a time, each
// waited for until its probes answer; then hold until Ctrl-C or until any child dies, and stop all.

export interface StackStep {
  readonly spec: ChildSpec;
  /** Ready when every probe answers; none: ready once started. Ignored for jobs. */
  readonly probes?: readonly Probe[];
  /** Runs before the step starts, e.g. writing a config file it reads. */
  readonly before?: () => Promise<void> | void;
  /** Runs once the step's process started, before waiting for it to be ready. */
  readonly afterStart?: () => Promise<void> | void;
}

export interface StackIo {
  /** Progress and the final report. */
  readonly log: (line: string) => void;
  /** Ctrl-C / SIGTERM: stop everything. */
  readonly signal: AbortSignal;
}

export interface RunStackOptions {
  readonly supervisor?: Supervisor;
  /** Per service: how long it may take to become ready. */
  readonly readyTimeoutMs: number;
  readonly readyIntervalMs?: number;
  /** Called once every service is ready (print the URLs). */
  readonly onReady?: () => void;
}

export type StackOutcome =
  | { readonly kind: 'stopped' }
  | { readonly kind: 'child-failed'; readonly exit: ChildExit }
  | { readonly kind: 'not-ready'; readonly message: string };

export interface StackResult {
  readonly outcome: StackOutcome;
  /** Exit status for the CLI: 0 after a requested stop, 1 otherwise. */
  readonly exitCode: number;
  /** Every started child's exit, in start order. */
  readonly exits: readonly ChildExit[];
}

class StackAborted extends Error {
  constructor(readonly outcome: StackOutcome) {
    super(outcome.kind);
  }
}

/** Runs `jobs` to completion, then `services`; resolves once everything it started has stopped. */
export async function runStack(jobs: readonly StackStep[], services: readonly StackStep[], io: StackIo, options: RunStackOptions): Promise<StackResult> {
  const supervisor = options.supervisor ?? new Supervisor();
  const stop = new AbortController();
  const abortWith = (outcome: StackOutcome): void => {
    if (!stop.signal.aborted) stop.abort(new StackAborted(outcome));
  };
  const onSignal = (): void => abortWith({ kind: 'stopped' });
  if (io.signal.aborted) onSignal();
  io.signal.addEventListener('abort', onSignal, { once: true });
  void supervisor.firstUnexpectedExit.then((exit) => abortWith({ kind: 'child-failed', exit }));

  let outcome: StackOutcome;
  try {
    for (const job of jobs) {
      stop.signal.throwIfAborted();
      await job.before?.();
      io.log(`starting ${job.spec.name}`);
      const child = supervisor.start({ ...job.spec, job: true });
      const exit = await raceAbort(child.exited, stop.signal);
      if (exit.code !== 0) throw new StackAborted({ kind: 'child-failed', exit });
      io.log(`${job.spec.name} finished`);
    }
    for (const service of services) {
      stop.signal.throwIfAborted();
      await service.before?.();
      io.log(`starting ${service.spec.name}`);
      supervisor.start(service.spec);
      await service.afterStart?.();
      const probes = service.probes ?? [];
      if (probes.length > 0) {
        await waitUntilReady(service.spec.name, probes, {
          timeoutMs: options.readyTimeoutMs,
          intervalMs: options.readyIntervalMs,
          signal: stop.signal,
        });
      }
      io.log(`${service.spec.name} is ready`);
    }
    options.onReady?.();
    outcome = await new Promise<StackOutcome>((resolve) => {
      const settle = (): void => resolve((stop.signal.reason as StackAborted).outcome);
      if (stop.signal.aborted) settle();
      else stop.signal.addEventListener('abort', settle, { once: true });
    });
  } catch (error) {
    if (error instanceof StackAborted) outcome = error.outcome;
    else if (error instanceof ReadinessTimeoutError) outcome = { kind: 'not-ready', message: error.message };
    else {
      await supervisor.stopAll();
      throw error;
    }
  } finally {
    io.signal.removeEventListener('abort', onSignal);
  }

  if (outcome.kind === 'child-failed') io.log(`${describeExit(outcome.exit)}; stopping the others`);
  else if (outcome.kind === 'not-ready') io.log(`${outcome.message}; stopping`);
  else io.log('stopping');
  const exits = await supervisor.stopAll();
  for (const exit of exits) {
    // a stopped service that exits non-zero or needed SIGKILL did not shut down cleanly: say so
    if (exit.requested && (exit.code !== 0 || exit.signal === 'SIGKILL')) io.log(`  ${describeExit(exit)}`);
  }
  io.log('stopped');
  return { outcome, exitCode: outcome.kind === 'stopped' ? 0 : 1, exits };
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
