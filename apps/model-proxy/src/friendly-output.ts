import type { OutputPlan } from '@bundlegate/bundle';
import { bgError, type BgError } from '@bundlegate/service-kit';
import { bf16ToNumber, fp16ArrayToFloat32, bf16ArrayToFloat32, fp16ToNumber, formatShape, type AnyTensor } from '@bundlegate/tensors';

/** One friendly output, protocol-neutral; HTTP and gRPC each render it their way. */
export type FriendlyOutput =
  | { readonly typeId: 'MaxClassification'; readonly name: string | null; readonly label: string; readonly score: number }
  | {
      readonly typeId: 'GridEmbedding';
      readonly name: string | null;
      readonly rows: number;
      readonly cols: number;
      readonly channels: number;
      /** rows × cols × channels values, row-major (HWC). */
      readonly data: Float32Array;
    }
  | { readonly typeId: 'Tensor'; readonly name: string | null; readonly tensor: AnyTensor };

const utf8 = new TextDecoder('utf-8');

/** Raw backend tensors → the signature's outputs, in signature order. A backend answer that does not fit is a 502. */
export function mapOutputs(modelId: string, plans: readonly OutputPlan[], tensors: ReadonlyMap<string, AnyTensor>): FriendlyOutput[] {
  const find = (name: string): AnyTensor => {
    const t = tensors.get(name);
    if (t === undefined) {
      throw badAnswer(modelId, `the response has no output tensor ${JSON.stringify(name)} (it has ${[...tensors.keys()].map((k) => JSON.stringify(k)).join(', ') || 'none'})`);
    }
    return t;
  };
  return plans.map((plan): FriendlyOutput => {
    const name = plan.name;
    const map = plan.map;
    switch (map.kind) {
      case 'labelAndScore': {
        const label = find(map.labelTensor);
        return { typeId: 'MaxClassification', name, label: labelOf(modelId, label), score: numberAt(modelId, find(map.scoreTensor), 0) };
      }
      case 'argmax': {
        const scores = find(map.scoreTensor);
        const n = map.labels.length;
        if (scores.datatype === 'BYTES' || elementCount(scores) < n) {
          throw badAnswer(modelId, `tensor ${JSON.stringify(scores.name)} is ${scores.datatype} ${formatShape(scores.shape)}; expected at least ${n} scores, one per label`);
        }
        let best = 0;
        let bestScore = numberAt(modelId, scores, 0);
        for (let i = 1; i < n; i++) {
          const s = numberAt(modelId, scores, i);
          if (s > bestScore) {
            best = i;
            bestScore = s;
          }
        }
        return { typeId: 'MaxClassification', name, label: map.labels[best] as string, score: bestScore };
      }
      case 'indexedLabel': {
        const index = numberAt(modelId, find(map.indexTensor), 0);
        const label = map.labels[index];
        if (label === undefined) throw badAnswer(modelId, `class index ${index} is outside the ${map.labels.length} labels of the signature`);
        return { typeId: 'MaxClassification', name, label, score: numberAt(modelId, find(map.scoreTensor), 0) };
      }
      case 'grid': {
        const t = find(map.tensor);
        const size = map.rows * map.cols * map.channels;
        if (elementCount(t) !== size) {
          throw badAnswer(modelId, `tensor ${JSON.stringify(map.tensor)} is ${formatShape(t.shape)}; the signature's grid needs ${map.rows}×${map.cols}×${map.channels} = ${size} values`);
        }
        const values = toFloat32(modelId, t);
        const data = map.layout === 'HWC' ? values : chwToHwc(values, map.rows, map.cols, map.channels);
        return { typeId: 'GridEmbedding', name, rows: map.rows, cols: map.cols, channels: map.channels, data };
      }
      case 'tensor':
        return { typeId: 'Tensor', name, tensor: find(map.tensor) };
    }
  });
}

function badAnswer(modelId: string, message: string): BgError {
  return bgError('BG_UPSTREAM_ERROR', { modelId, upstreamStatus: 'OK', upstreamMessage: `unexpected answer: ${message}` });
}

function elementCount(t: AnyTensor): number {
  return t.data.length;
}

function labelOf(modelId: string, t: AnyTensor): string {
  if (t.datatype === 'BYTES') {
    const first = t.data[0];
    if (first === undefined) throw badAnswer(modelId, `label tensor ${JSON.stringify(t.name)} is empty`);
    return utf8.decode(first);
  }
  // a numeric class without labels: its number is the best name there is
  return String(numberAt(modelId, t, 0));
}

/** Element i of a numeric tensor as a JS number. */
function numberAt(modelId: string, t: AnyTensor, i: number): number {
  if (i >= t.data.length) throw badAnswer(modelId, `tensor ${JSON.stringify(t.name)} ${formatShape(t.shape)} has no element ${i}`);
  switch (t.datatype) {
    case 'BYTES':
      throw badAnswer(modelId, `tensor ${JSON.stringify(t.name)} is BYTES where a number was expected`);
    case 'FP16':
      return fp16ToNumber(t.data[i] as number);
    case 'BF16':
      return bf16ToNumber(t.data[i] as number);
    case 'INT64':
    case 'UINT64':
      return Number(t.data[i]);
    default:
      return t.data[i] as number;
  }
}

/** Any numeric tensor → float32 values; a view when it already is FP32. */
function toFloat32(modelId: string, t: AnyTensor): Float32Array {
  switch (t.datatype) {
    case 'FP32':
      return t.data;
    case 'FP16':
      return fp16ArrayToFloat32(t.data);
    case 'BF16':
      return bf16ArrayToFloat32(t.data);
    case 'BYTES':
      throw badAnswer(modelId, `grid tensor ${JSON.stringify(t.name)} is BYTES; expected floats`);
    case 'INT64':
    case 'UINT64':
      return Float32Array.from(t.data, Number);
    default:
      return Float32Array.from(t.data);
  }
}

function chwToHwc(chw: Float32Array, rows: number, cols: number, channels: number): Float32Array {
  const out = new Float32Array(chw.length);
  const area = rows * cols;
  for (let c = 0; c < channels; c++) {
    const plane = c * area;
    for (let p = 0; p < area; p++) out[p * channels + c] = chw[plane + p] as number;
  }
  return out;
}
