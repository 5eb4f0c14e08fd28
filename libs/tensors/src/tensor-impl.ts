import { DATA_TYPE_TABLE, formatValue, parseDataType, type DataType, type DataTypeMap } from './dtype';
import type { TensorOf } from './tensor';

/** "[1,3,224,224]", the form every error message uses. */
export function formatShape(shape: readonly (number | bigint)[]): string {
  return `[${shape.join(',')}]`;
}

/** `tensor "x": ` when the tensor has a name, for error messages. */
export function tensorLabel(name: string | undefined): string {
  return name === undefined || name === '' ? '' : `tensor ${JSON.stringify(name)}: `;
}

/** The tensor's name, or a TypeError: protocols that key or list tensors by name need one. */
export function requireName(tensor: { readonly name?: string; readonly datatype: string }, protocol: string): string {
  if (typeof tensor.name !== 'string') {
    throw new TypeError(`a ${tensor.datatype} tensor has no name; ${protocol} tensors need one`);
  }
  return tensor.name;
}

/**
 * Checks dims (numbers or protobuf int64 bigints) and returns them as numbers. Each must be a non-negative safe
 * integer, and so must their product.
 */
export function parseShape(dims: unknown, name?: string): number[] {
  if (!Array.isArray(dims)) throw new TypeError(`${tensorLabel(name)}shape must be an array, got ${formatValue(dims)}`);
  const shape = new Array<number>(dims.length);
  for (let i = 0; i < dims.length; i++) {
    const d: unknown = dims[i];
    let n: number;
    if (typeof d === 'number') n = d;
    else if (typeof d === 'bigint') n = d >= 0n && d <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d) : -1;
    else throw new TypeError(`${tensorLabel(name)}shape dim ${i} is ${formatValue(d)}; dims must be integers`);
    if (!Number.isSafeInteger(n) || n < 0) throw badDim(dims as (number | bigint)[], i, d, name);
    shape[i] = n;
  }
  shapeSize(shape, name);
  return shape;
}

function badDim(shape: readonly (number | bigint)[], i: number, d: number | bigint, name?: string): RangeError {
  return new RangeError(
    `${tensorLabel(name)}shape ${formatShape(shape)} has dim ${i} = ${String(d)}; dims must be non-negative safe integers`,
  );
}

/** Number of elements of a shape (1 for `[]`); throws for a bad dim or a product beyond 2^53-1. */
export function shapeSize(shape: readonly number[], name?: string): number {
  let size = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i] as number;
    if (!Number.isSafeInteger(d) || d < 0) throw badDim(shape, i, d, name);
    size *= d;
  }
  if (!Number.isSafeInteger(size)) {
    throw new RangeError(`${tensorLabel(name)}shape ${formatShape(shape)} has more than 2^53-1 elements`);
  }
  return size;
}

/** "shape [2,3] needs 6 FP32 elements (24 bytes)": the expected half of every count mismatch message. */
export function describeNeed(datatype: DataType, shape: readonly number[], size: number): string {
  const byteSize = DATA_TYPE_TABLE[datatype].byteSize;
  const bytes = byteSize === undefined ? '' : ` (${size * byteSize} bytes)`;
  return `shape ${formatShape(shape)} needs ${size} ${datatype} element${size === 1 ? '' : 's'}${bytes}`;
}

/** Throws a RangeError unless `got` elements fill the shape. */
export function checkElementCount(
  datatype: DataType,
  shape: readonly number[],
  got: number,
  name?: string,
  source = '',
): number {
  const size = shapeSize(shape, name);
  if (got !== size) {
    throw new RangeError(`${tensorLabel(name)}${describeNeed(datatype, shape, size)}, got ${got}${source}`);
  }
  return size;
}

/** Whether `data` has the JS type `DataTypeMap[datatype]` (by toStringTag, so arrays from another realm pass too). */
export function isTensorData<T extends DataType>(datatype: T, data: unknown): data is DataTypeMap[T] {
  const ctor = DATA_TYPE_TABLE[datatype].typedArray;
  if (ctor === undefined) return Array.isArray(data) && data.every(isUint8Array);
  return ArrayBuffer.isView(data) && (data as Uint8Array)[Symbol.toStringTag] === ctor.name;
}

export function isUint8Array(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && (value as Uint8Array)[Symbol.toStringTag] === 'Uint8Array';
}

/**
 * Makes a Tensor after checking the datatype, the shape and that `data` is `DataTypeMap[datatype]` with exactly the
 * shape's element count. The data is used as given, not copied.
 */
export function createTensor<T extends DataType>(
  datatype: T,
  shape: readonly number[],
  data: DataTypeMap[T],
  name?: string,
): TensorOf<T> {
  parseDataType(datatype);
  const size = shapeSize(shape, name);
  if (!isTensorData(datatype, data)) {
    const expected = DATA_TYPE_TABLE[datatype].typedArray?.name ?? 'an array of Uint8Array';
    throw new TypeError(`${tensorLabel(name)}${datatype} data must be ${expected}, got ${formatValue(data)}`);
  }
  if (data.length !== size) {
    throw new RangeError(`${tensorLabel(name)}${describeNeed(datatype, shape, size)}, got ${data.length}`);
  }
  return checkedTensor(datatype, shape, data, name);
}

/** A Tensor from parts a codec has already checked (datatype, shape, element count): no second pass over the data. */
export function checkedTensor<T extends DataType>(
  datatype: T,
  shape: readonly number[],
  data: DataTypeMap[T],
  name: string | undefined,
): TensorOf<T> {
  return (name === undefined ? { datatype, shape, data } : { name, datatype, shape, data }) as TensorOf<T>;
}
