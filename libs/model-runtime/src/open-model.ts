import { dataTypeToOrt, typedArrayConstructor, type NumericDataType, type TypedArray } from '@bundlegate/tensors';
import type { ModelRunner } from './model-runner';
import type { OrtValue } from './ort-values';
import type { RuntimeOptions } from './runtime-options';
import { openInlineRunner } from './runner-inline';
import { openWorkerRunner } from './runner-worker';
import type { TensorSpec } from './tensor-spec';

/**
 * 'auto' runs a model inline when onnxruntime needs less than this per run (ms): the hop to a worker thread and
 * back costs about 0.05-0.15 ms, more than such a run blocks the event loop.
 */
export const INLINE_BELOW_MS = 0.5;
/** Probe runs; the first warms the session up and is not counted. */
const PROBE_RUNS = 6;

/** Zero-filled inputs of the declared shapes (dynamic dims as 1), or undefined when a type cannot be made up. */
export function probeFeeds(inputs: readonly TensorSpec[]): OrtValue[] | undefined {
  const feeds: OrtValue[] = [];
  for (const spec of inputs) {
    if (spec.datatype === 'BF16') return undefined;
    const dims = spec.shape.map((d) => (d < 0 ? 1 : d));
    const size = dims.reduce((a, b) => a * b, 1);
    const type = dataTypeToOrt(spec.datatype);
    const data = spec.datatype === 'BYTES' ? new Array<string>(size).fill('') : (new (typedArrayConstructor(spec.datatype as NumericDataType))(size) as TypedArray);
    feeds.push({ name: spec.name, type, dims, data });
  }
  return feeds;
}

/** Workers, then a few timed runs on zeros: a model faster than INLINE_BELOW_MS moves to one inline session. */
async function openAutoRunner(file: string, options: RuntimeOptions): Promise<ModelRunner> {
  const workers = await openWorkerRunner(file, { ...options, executor: 'worker' });
  const feeds = probeFeeds(workers.inputs);
  if (feeds === undefined) return workers;
  const fetches = workers.outputs.map((o) => o.name);
  let fastest = Infinity;
  try {
    for (let i = 0; i < PROBE_RUNS; i++) {
      const { ms } = await workers.timedRun(feeds, fetches);
      if (i > 0) fastest = Math.min(fastest, ms);
    }
  } catch {
    // a model that refuses zeros still serves real inputs; it just is not probed
    return workers;
  }
  if (fastest >= INLINE_BELOW_MS) return Object.assign(workers, { probeMs: fastest });
  let inline: ModelRunner;
  try {
    inline = await openInlineRunner(file, { ...options, executor: 'inline', sessions: 1 });
    await inline.run(feeds, fetches);
  } catch {
    return Object.assign(workers, { probeMs: fastest });
  }
  await workers.close();
  return Object.assign(inline, { probeMs: fastest });
}

/** Loads an ONNX file with the executor, sessions and threads `options` name. */
export function openModel(file: string, options: RuntimeOptions): Promise<ModelRunner> {
  switch (options.executor) {
    case 'inline':
      return openInlineRunner(file, options);
    case 'worker':
      return openWorkerRunner(file, options);
    case 'auto':
      return openAutoRunner(file, options);
  }
}

/** What loads a model file: `openModel` in production; tests may wrap it to observe loads. */
export type ModelOpener = (file: string, options: RuntimeOptions) => Promise<ModelRunner>;
