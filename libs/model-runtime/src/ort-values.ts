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
  /** `data` alone owns its whole buffer and nobody reads it afterwards: a worker thread may take it (no copy). */
  readonly movable?: boolean;
}

/** Whether a typed array spans the whole of an ordinary (not shared) ArrayBuffer, so moving the buffer moves just it. */
export function ownsBuffer(data: unknown): boolean {
  if (!ArrayBuffer.isView(data)) return false;
  const buffer = data.buffer;
  return !(typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) && data.byteOffset === 0 && data.byteLength === buffer.byteLength;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Tensor → OrtValue. Numeric data is the same view; BYTES elements become strings (ONNX strings are UTF-8).
 * `movable`: the caller hands the data over, so a buffer the data owns whole may be moved to a worker thread.
 */
export function toOrtValue(name: string, tensor: Tensor, movable = false): OrtValue {
  const type = dataTypeToOrt(tensor.datatype);
  if (Array.isArray(tensor.data)) return { name, type, dims: tensor.shape, data: tensor.data.map((b) => utf8.decode(b)) };
  const data = tensor.data as TypedArray;
  return movable && ownsBuffer(data) ? { name, type, dims: tensor.shape, data, movable: true } : { name, type, dims: tensor.shape, data };
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
