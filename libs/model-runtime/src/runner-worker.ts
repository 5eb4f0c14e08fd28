import { Worker } from 'node:worker_threads';
import type { Tensor, TypedArray } from '@bundlegate/tensors';
import { sessionOptions, type ModelRunner } from './model-runner';
import { fromOrtValue, type OrtValue } from './ort-values';
import type { RuntimeOptions } from './runtime-options';
import { tensorSpecFromOrt, type OrtValueMetadata, type TensorSpec } from './tensor-spec';
import { WORKER_SOURCE } from './worker-source';

// `options.sessions` worker threads, one onnxruntime session each; a run goes to the first idle one.

interface WireOutput {
  readonly name: string;
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

type FromWorker =
  | { type: 'ready'; inputs: OrtValueMetadata[]; outputs: OrtValueMetadata[] }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; outputs: WireOutput[]; ms: number }
  | { type: 'error'; id: number; message: string };

interface Job {
  readonly id: number;
  readonly feeds: readonly OrtValue[];
  readonly fetches: readonly string[];
  resolve(outputs: Tensor[], ms: number): void;
  reject(err: Error): void;
}

/** The worker executor, which can also say how long onnxruntime itself took for a run. */
export interface WorkerRunner extends ModelRunner {
  /** `run`, plus the milliseconds `session.run` took inside the worker (the thread hop excluded). */
  timedRun(feeds: readonly OrtValue[], fetches: readonly string[]): Promise<{ outputs: Tensor[]; ms: number }>;
}

interface Slot {
  worker: Worker;
  job: Job | undefined;
  ready: boolean;
  /** A replacement for a crashed worker is loading: runs wait for it rather than fail. */
  respawning: boolean;
}

interface Loaded {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** Resolved once per process: the worker source requires onnxruntime-node by absolute path. */
let ortPath: string | undefined;

function spawn(file: string, options: RuntimeOptions): { worker: Worker; loaded: Promise<Loaded> } {
  ortPath ??= require.resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: { ortPath, file, sessionOptions: sessionOptions(options) },
  });
  const loaded = new Promise<Loaded>((resolve, reject) => {
    const onExit = (code: number): void => reject(new Error(`inference worker exited with code ${code} while loading ${file}`));
    const onError = (err: Error): void => reject(err);
    worker.once('exit', onExit);
    worker.once('error', onError);
    worker.once('message', (msg: FromWorker) => {
      worker.off('exit', onExit);
      worker.off('error', onError);
      if (msg.type === 'ready') {
        try {
          resolve({ inputs: msg.inputs.map(tensorSpecFromOrt), outputs: msg.outputs.map(tensorSpecFromOrt) });
        } catch (err) {
          reject(err as Error);
        }
      } else {
        reject(new Error(msg.type === 'failed' ? msg.message : `unexpected first message ${msg.type} from inference worker`));
      }
    });
  });
  return { worker, loaded };
}

/**
 * Feed data for the worker: strings are cloned; a movable buffer is moved as is; other numeric data (usually a view
 * into a request buffer) is copied into a buffer of its own, which is moved.
 */
function forWorker(v: OrtValue, copyAll: boolean): { data: TypedArray | string[]; transfer?: ArrayBuffer } {
  if (Array.isArray(v.data)) return { data: v.data };
  if (v.movable && !copyAll) return { data: v.data, transfer: v.data.buffer as ArrayBuffer };
  const copy = v.data.slice() as TypedArray;
  return { data: copy, transfer: copy.buffer as ArrayBuffer };
}

export async function openWorkerRunner(file: string, options: RuntimeOptions): Promise<WorkerRunner> {
  const spawned = Array.from({ length: options.sessions }, () => spawn(file, options));
  let loaded: Loaded[];
  try {
    loaded = await Promise.all(spawned.map((s) => s.loaded));
  } catch (err) {
    await Promise.all(spawned.map((s) => s.worker.terminate()));
    throw err;
  }
  const { inputs, outputs } = loaded[0] as Loaded;
  const slots: Slot[] = spawned.map((s) => ({ worker: s.worker, job: undefined, ready: true, respawning: false }));
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  const dispatch = (slot: Slot): void => {
    const job = queue.shift();
    if (job === undefined) return;
    slot.job = job;
    const post = (copyAll: boolean): void => {
      const transfer: ArrayBuffer[] = [];
      const feeds = job.feeds.map((v) => {
        const prepared = forWorker(v, copyAll);
        if (prepared.transfer) transfer.push(prepared.transfer);
        return { name: v.name, type: v.type, dims: v.dims, data: prepared.data };
      });
      slot.worker.postMessage({ type: 'run', id: job.id, feeds, fetches: job.fetches }, transfer);
    };
    try {
      post(false);
    } catch {
      // a buffer that cannot be moved (one owned by native code): send copies instead
      post(true);
    }
  };

  const settle = (slot: Slot, msg: FromWorker): void => {
    const job = slot.job;
    if (job === undefined || !('id' in msg) || msg.id !== job.id) return;
    slot.job = undefined;
    if (msg.type === 'result') {
      try {
        job.resolve(
          msg.outputs.map((o) => fromOrtValue(o.name, o.type, o.dims, o.data)),
          msg.ms,
        );
      } catch (err) {
        job.reject(err as Error);
      }
    } else {
      job.reject(new Error(msg.message));
    }
    dispatch(slot);
  };

  const failQueued = (): void => {
    for (const job of queue.splice(0)) job.reject(new Error('every inference worker of this model has failed'));
  };

  const watch = (slot: Slot): void => {
    slot.worker.on('message', (msg: FromWorker) => settle(slot, msg));
    slot.worker.once('exit', (code) => {
      if (closed) return;
      // a crashed worker takes its run with it; the slot comes back once a fresh session has loaded
      slot.ready = false;
      slot.respawning = true;
      slot.job?.reject(new Error(`inference worker exited with code ${code}`));
      slot.job = undefined;
      const replacement = spawn(file, options);
      replacement.loaded.then(
        () => {
          slot.respawning = false;
          if (closed) {
            void replacement.worker.terminate();
            return;
          }
          slot.worker = replacement.worker;
          slot.ready = true;
          watch(slot);
          dispatch(slot);
        },
        () => {
          // the file may be gone by now; the slot stays down and the others keep serving
          slot.respawning = false;
          void replacement.worker.terminate();
          if (!slots.some((s) => s.ready || s.respawning)) failQueued();
        },
      );
    });
  };
  slots.forEach(watch);

  const timedRun = (feeds: readonly OrtValue[], fetches: readonly string[]): Promise<{ outputs: Tensor[]; ms: number }> => {
    if (closed) return Promise.reject(new Error('the model was unloaded'));
    return new Promise((resolve, reject) => {
      queue.push({ id: nextId++, feeds, fetches, resolve: (outputs, ms) => resolve({ outputs, ms }), reject });
      const idle = slots.find((s) => s.ready && s.job === undefined);
      if (idle) dispatch(idle);
      else if (!slots.some((s) => s.ready || s.respawning)) failQueued();
    });
  };

  return {
    file,
    inputs,
    outputs,
    options,
    timedRun,
    run: (feeds, fetches) => timedRun(feeds, fetches).then((r) => r.outputs),
    load: () => ({ running: slots.filter((s) => s.job !== undefined).length, queued: queue.length }),
    async close() {
      if (closed) return;
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error('the model was unloaded'));
      await Promise.all(
        slots.map(
          (slot) =>
            new Promise<void>((resolve) => {
              slot.job?.reject(new Error('the model was unloaded'));
              slot.job = undefined;
              slot.worker.once('exit', () => resolve());
              slot.worker.postMessage({ type: 'close' });
              // a session stuck in a run must not hold unloading forever
              setTimeout(() => void slot.worker.terminate(), 5_000).unref();
            }),
        ),
      );
    },
  };
}
