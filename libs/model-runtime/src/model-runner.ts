import type { Tensor } from '@bundlegate/tensors';
import type { OrtValue } from './ort-values';
import type { RuntimeOptions } from './runtime-options';
import type { TensorSpec } from './tensor-spec';

/** One loaded model file: its declared inputs and outputs, and a way to run it. */
export interface ModelRunner {
  readonly file: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** The options it runs with: `executor` is the one in use ('worker' or 'inline', never 'auto'). */
  readonly options: RuntimeOptions;
  /** Fastest onnxruntime time (ms) of the load-time probe runs, when the 'auto' executor probed the model. */
  readonly probeMs?: number;
  /**
   * Runs one inference on feeds that already match `inputs`, returning the outputs named in `fetches`,
   * in that order. Rejects with an Error carrying onnxruntime's own message when the run fails.
   */
  run(feeds: readonly OrtValue[], fetches: readonly string[]): Promise<Tensor[]>;
  /** Runs executing on a session now, and runs waiting for a free session. */
  load(): { running: number; queued: number };
  /** Frees the sessions (and worker threads). Runs still queued are rejected. */
  close(): Promise<void>;
}

/** onnxruntime `SessionOptions` for one session of a model. */
export function sessionOptions(options: RuntimeOptions): {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  executionMode: 'sequential' | 'parallel';
  graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  logSeverityLevel: 0 | 1 | 2 | 3 | 4;
  extra: Record<string, unknown>;
} {
  const spin = options.allowSpinning ? '1' : '0';
  return {
    intraOpNumThreads: options.intraOpThreads,
    interOpNumThreads: options.interOpThreads,
    executionMode: options.executionMode,
    graphOptimizationLevel: options.graphOptimizationLevel,
    // errors reach the caller as exceptions; onnxruntime's own warnings would bypass the JSON log
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  };
}
