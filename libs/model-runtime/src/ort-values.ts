import {
  createTensor,
  dataTypeFromOrt,
  dataTypeToOrt,
  isTensorData,
  type OrtTensorType,
  type Tensor,
  type TypedArray,
} from '@bundlegate/tensors';

// Tensor ⇄ the plain { type, dims, data } triple onnxruntime-node's Tensor takes and returns, without copying numeric data.

/** What crosses into onnxruntime (and to a worker thread): numeric data as a TypedArray, strings for BYTES. */
export interface OrtValue {
  readonly name: string;
  readonly type: OrtTensorType;
  readonly dims: readonly number[];
  readonly data: TypedArray | string[];
}

const utf8 = new TextDecoder('utf-8');

/** Tensor → OrtValue. Numeric data is the same view; BYTES elements become strings (ONNX strings are UTF-8). */
export function toOrtValue(name: string, tensor: Tensor): OrtValue {
  const type = dataTypeToOrt(tensor.datatype);
  const data = Array.isArray(tensor.data) ? tensor.data.map((b) => utf8.decode(b)) : (tensor.data as TypedArray);
  return { name, type, dims: tensor.shape, data };
}

/** onnxruntime output → Tensor. Strings become UTF-8 bytes; typed arrays are kept as they are. */
export function fromOrtValue(name: string, type: string, dims: readonly number[], data: unknown): Tensor {
  const datatype = dataTypeFromOrt(type);
  const shape = [...dims];
  if (datatype === 'BYTES') {
    if (!Array.isArray(data)) throw new TypeError(`output "${name}" of type string did not hold strings`);
    return createTensor('BYTES', shape, data.map((s: unknown) => Buffer.from(String(s), 'utf8')), name);
  }
  // onnxruntime hands bool back as Uint8Array already; guard against a Float16Array-capable runtime all the same
  const typed = datatype === 'BOOL' && !isTensorData('BOOL', data) ? Uint8Array.from(data as ArrayLike<number>) : data;
  return createTensor(datatype, shape, typed as never, name);
}
