import * as ort from 'onnxruntime-node';
import type { Tensor } from '@bundlegate/tensors';
import { sessionOptions, type ModelRunner } from './model-runner';
import { fromOrtValue, type OrtValue } from './ort-values';
import type { RuntimeOptions } from './runtime-options';
import { tensorSpecFromOrt } from './tensor-spec';

/**
 * One session run on the calling thread. onnxruntime-node's run() is synchronous behind a setImmediate,
 * so concurrent calls simply take turns; there is nothing to gain from a second session here.
 */
export async function openInlineRunner(file: string, options: RuntimeOptions): Promise<ModelRunner> {
  const session = await ort.InferenceSession.create(file, sessionOptions(options));
  let closed = false;
  let inFlight = 0;
  const inputs = session.inputMetadata.map(tensorSpecFromOrt);
  const outputs = session.outputMetadata.map(tensorSpecFromOrt);
  return {
    file,
    inputs,
    outputs,
    options: { ...options, sessions: 1 },
    async run(feeds: readonly OrtValue[], fetches: readonly string[]): Promise<Tensor[]> {
      if (closed) throw new Error('the model was unloaded');
      const ortFeeds: Record<string, ort.Tensor> = {};
      for (const v of feeds) ortFeeds[v.name] = new ort.Tensor(v.type, v.data as ort.Tensor.DataType, v.dims);
      inFlight++;
      let results: ort.InferenceSession.ReturnType;
      try {
        results = await session.run(ortFeeds, [...fetches]);
      } finally {
        inFlight--;
      }
      return fetches.map((name) => {
        const t = results[name];
        if (t === undefined) throw new Error(`onnxruntime returned no output "${name}"`);
        return fromOrtValue(name, t.type, t.dims, t.data);
      });
    },
    load: () => ({ running: Math.min(inFlight, 1), queued: Math.max(inFlight - 1, 0) }),
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}
