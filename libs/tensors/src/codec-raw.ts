import { DATA_TYPE_TABLE, type DataType, type DataTypeMap, type NumericDataType } from './dtype';
import type { Tensor, TensorOf } from './tensor';
import { checkedTensor, describeNeed, shapeSize, tensorLabel } from './tensor-impl';

// Raw tensor contents are little-endian on the wire; TypedArrays use host order, so views are only valid on LE hosts.
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('@bundlegate/tensors needs a little-endian host');
}

/** Bytes of the length prefix before each BYTES element in raw form (uint32 little-endian). */
export const BYTES_LENGTH_PREFIX = 4;

/**
 * A TypedArray over `bytes`: a view sharing its memory when `bytes.byteOffset` is a multiple of the element size,
 * otherwise an aligned copy. `bytes.byteLength` must be a multiple of the element size.
 */
export function viewTypedArray<T extends NumericDataType>(datatype: T, bytes: Uint8Array): DataTypeMap[T] {
  const info = DATA_TYPE_TABLE[datatype];
  const ctor = info.typedArray as unknown as new (
    buffer: ArrayBufferLike,
    byteOffset?: number,
    length?: number,
  ) => DataTypeMap[T];
  const size = info.byteSize;
  const length = bytes.byteLength / size;
  if (!Number.isInteger(length)) {
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${size}-byte ${datatype} elements`);
  }
  if (bytes.byteOffset % size === 0) return new ctor(bytes.buffer, bytes.byteOffset, length);
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return new ctor(copy, 0, length);
}

/**
 * Raw little-endian contents → Tensor. Numeric data is a zero-copy view over `bytes` when aligned (else a copy);
 * BYTES elements are zero-copy subarrays. Throws a RangeError naming expected vs got sizes.
 */
export function tensorFromRaw<T extends DataType>(
  datatype: T,
  shape: readonly number[],
  bytes: Uint8Array,
  name?: string,
): TensorOf<T> {
  const size = shapeSize(shape, name);
  const byteSize = DATA_TYPE_TABLE[datatype].byteSize;
  if (byteSize === undefined) {
    const elements = decodeBytesElements(bytes, name);
    if (elements.length !== size) {
      throw new RangeError(
        `${tensorLabel(name)}${describeNeed(datatype, shape, size)}, got ${elements.length} in ${bytes.byteLength} raw bytes`,
      );
    }
    return checkedTensor(datatype, shape, elements as DataTypeMap[T], name);
  }
  if (bytes.byteLength !== size * byteSize) {
    throw new RangeError(`${tensorLabel(name)}${describeNeed(datatype, shape, size)}, got ${bytes.byteLength} bytes`);
  }
  const data = viewTypedArray(datatype as NumericDataType, bytes);
  return checkedTensor(datatype, shape, data as DataTypeMap[T], name);
}

/**
 * Tensor → raw little-endian contents. Numeric data comes back as a Buffer view over the tensor's own memory (no
 * copy); BYTES elements are each prefixed with a uint32 little-endian length.
 */
export function tensorToRaw(tensor: Tensor): Buffer {
  const data = tensor.data;
  if (Array.isArray(data)) return encodeBytesElements(data);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Size of `tensorToRaw(tensor)` without building it. */
export function rawByteLength(tensor: Tensor): number {
  const data = tensor.data;
  if (!Array.isArray(data)) return data.byteLength;
  let total = data.length * BYTES_LENGTH_PREFIX;
  for (const element of data) total += element.byteLength;
  return total;
}

/** BYTES elements → one buffer of (uint32 LE length ‖ bytes) per element, the KServe raw and binary-data form. */
export function encodeBytesElements(elements: readonly Uint8Array[]): Buffer {
  let total = elements.length * BYTES_LENGTH_PREFIX;
  for (const element of elements) total += element.byteLength;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (const element of elements) {
    out.writeUInt32LE(element.byteLength, offset);
    out.set(element, offset + BYTES_LENGTH_PREFIX);
    offset += BYTES_LENGTH_PREFIX + element.byteLength;
  }
  return out;
}

/** Splits length-prefixed BYTES elements into zero-copy subarrays; throws a RangeError where the framing is broken. */
export function decodeBytesElements(bytes: Uint8Array, name?: string): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + BYTES_LENGTH_PREFIX > bytes.byteLength) {
      throw new RangeError(
        `${tensorLabel(name)}BYTES element ${elements.length} at byte ${offset} has a truncated length prefix ` +
          `(${bytes.byteLength - offset} of ${BYTES_LENGTH_PREFIX} bytes)`,
      );
    }
    const length = view.getUint32(offset, true);
    const start = offset + BYTES_LENGTH_PREFIX;
    if (start + length > bytes.byteLength) {
      throw new RangeError(
        `${tensorLabel(name)}BYTES element ${elements.length} at byte ${offset} declares ${length} bytes ` +
          `but only ${bytes.byteLength - start} remain`,
      );
    }
    elements.push(bytes.subarray(start, start + length));
    offset = start + length;
  }
  return elements;
}
