import { tensorToJson, tensorToRaw } from '@bundlegate/tensors';
import type { FriendlyOutput } from './friendly-output';
import type { PredictResult } from './predictor';

/** json: values as JSON numbers/arrays; base64: grid and tensor data as base64 little-endian bytes. */
export type OutputEncoding = 'json' | 'base64';

export const OUTPUT_ENCODINGS: readonly OutputEncoding[] = ['json', 'base64'];

function base64Of(view: ArrayBufferView): string {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('base64');
}

/** rows × cols × channels nested arrays from HWC values. */
function nestGrid(data: Float32Array, rows: number, cols: number, channels: number): number[][][] {
  const out = new Array<number[][]>(rows);
  for (let r = 0; r < rows; r++) {
    const row = new Array<number[]>(cols);
    for (let c = 0; c < cols; c++) {
      const start = (r * cols + c) * channels;
      row[c] = Array.from(data.subarray(start, start + channels));
    }
    out[r] = row;
  }
  return out;
}

export function renderOutput(output: FriendlyOutput, encoding: OutputEncoding): Record<string, unknown> {
  const head = output.name === null ? { typeId: output.typeId } : { typeId: output.typeId, name: output.name };
  switch (output.typeId) {
    case 'MaxClassification':
      return { ...head, label: output.label, score: output.score };
    case 'GridEmbedding': {
      const { rows, cols, channels, data } = output;
      if (encoding === 'base64') return { ...head, rows, cols, channels, data: base64Of(data), encoding: 'base64' };
      return { ...head, rows, cols, channels, data: nestGrid(data, rows, cols, channels) };
    }
    case 'Tensor': {
      const t = output.tensor;
      const base64 = { ...head, shape: [...t.shape], datatype: t.datatype, data: tensorToRaw(t).toString('base64'), encoding: 'base64' };
      if (encoding === 'base64') return base64;
      try {
        return { ...head, shape: [...t.shape], datatype: t.datatype, data: tensorToJson({ ...t, name: t.name ?? '' }).data };
      } catch {
        // values JSON cannot hold exactly (NaN, int64 beyond 2^53, non-UTF-8 bytes) go as bytes
        return base64;
      }
    }
  }
}

/** The HTTP predict response body. */
export function renderPredictJson(result: PredictResult, encoding: OutputEncoding): Record<string, unknown> {
  return {
    modelId: result.modelId,
    outputs: result.outputs.map((o) => renderOutput(o, encoding)),
    timings: result.timings,
  };
}
