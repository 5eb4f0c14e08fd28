/**
 * Typed protocol fields (KServe `*_contents`, TF `*_val`, JSON `data`) → tensor data, checking every element's
 * type and range so a value that does not fit the datatype is reported instead of silently wrapped.
 */
import { DATA_TYPE_TABLE, formatValue, type DataTypeMap } from './dtype';
import { tensorLabel } from './tensor-impl';

export type IntDataType = 'INT8' | 'INT16' | 'INT32' | 'UINT8' | 'UINT16' | 'UINT32';

const INT_RANGES: { readonly [K in IntDataType]: readonly [number, number] } = {
  INT8: [-0x80, 0x7f],
  INT16: [-0x8000, 0x7fff],
  INT32: [-0x80000000, 0x7fffffff],
  UINT8: [0, 0xff],
  UINT16: [0, 0xffff],
  UINT32: [0, 0xffffffff],
};

const BIGINT_RANGES = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
} as const;

/** Where a value came from, for messages: `tensor "x": fp32Contents`. */
export interface Source {
  readonly name: string | undefined;
  readonly field: string;
}

function at(source: Source, i: number): string {
  return `${tensorLabel(source.name)}${source.field}[${i}]`;
}

export function intsToData<T extends IntDataType>(
  datatype: T,
  values: ArrayLike<unknown>,
  source: Source,
): DataTypeMap[T] {
  const [min, max] = INT_RANGES[datatype];
  const out = new DATA_TYPE_TABLE[datatype].typedArray(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new TypeError(`${at(source, i)} is ${formatValue(v)}; ${datatype} values must be integers`);
    }
    if (v < min || v > max) {
      throw new RangeError(`${at(source, i)} = ${v} is out of range for ${datatype} [${min}, ${max}]`);
    }
    out[i] = v;
  }
  return out as DataTypeMap[T];
}

/** Numbers into a float array (FP32 rounds to nearest float32). */
export function floatsToData<T extends 'FP32' | 'FP64'>(
  datatype: T,
  values: ArrayLike<unknown>,
  source: Source,
): DataTypeMap[T] {
  const out = new DATA_TYPE_TABLE[datatype].typedArray(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number')
      throw new TypeError(`${at(source, i)} is ${formatValue(v)}; ${datatype} values must be numbers`);
    out[i] = v;
  }
  return out as DataTypeMap[T];
}

/** Checks that every value is a number (for FP16/BF16 given as values, converted afterwards). */
export function checkNumbers(datatype: string, values: ArrayLike<unknown>, source: Source): ArrayLike<number> {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number')
      throw new TypeError(`${at(source, i)} is ${formatValue(v)}; ${datatype} values must be numbers`);
  }
  return values as ArrayLike<number>;
}

/** bigints (protobuf int64) or safe-integer numbers (JSON) into a BigInt64Array / BigUint64Array. */
export function bigintsToData<T extends 'INT64' | 'UINT64'>(
  datatype: T,
  values: ArrayLike<unknown>,
  source: Source,
): DataTypeMap[T] {
  const [min, max] = BIGINT_RANGES[datatype];
  const out = new DATA_TYPE_TABLE[datatype].typedArray(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    let b: bigint;
    if (typeof v === 'bigint') b = v;
    else if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
    else if (typeof v === 'number' && Number.isInteger(v)) {
      throw new RangeError(
        `${at(source, i)} = ${v} is beyond ±(2^53-1) and may have lost precision; send ${datatype} as binary data`,
      );
    } else throw new TypeError(`${at(source, i)} is ${formatValue(v)}; ${datatype} values must be integers`);
    if (b < min || b > max)
      throw new RangeError(`${at(source, i)} = ${b} is out of range for ${datatype} [${min}, ${max}]`);
    out[i] = b;
  }
  return out as DataTypeMap[T];
}

/** booleans → one byte each (0 or 1). */
export function boolsToData(values: ArrayLike<unknown>, source: Source): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'boolean')
      throw new TypeError(`${at(source, i)} is ${formatValue(v)}; BOOL values must be booleans`);
    out[i] = v ? 1 : 0;
  }
  return out;
}

/** Byte strings (protobuf `bytes`) or strings (JSON, encoded as UTF-8) → BYTES elements. Byte strings are not copied. */
export function bytesToData(values: ArrayLike<unknown>, source: Source): Uint8Array[] {
  const out = new Array<Uint8Array>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') out[i] = Buffer.from(v, 'utf8');
    else if (ArrayBuffer.isView(v) && (v as Uint8Array)[Symbol.toStringTag] === 'Uint8Array') out[i] = v as Uint8Array;
    else throw new TypeError(`${at(source, i)} is ${formatValue(v)}; BYTES values must be byte strings`);
  }
  return out;
}

/** BOOL data → booleans. */
export function dataToBools(data: Uint8Array): boolean[] {
  const out = new Array<boolean>(data.length);
  for (let i = 0; i < data.length; i++) out[i] = data[i] !== 0;
  return out;
}

/** BYTES elements as Buffers sharing their memory (protobuf `bytes` fields are Buffers). */
export function dataToBuffers(data: readonly Uint8Array[]): Buffer[] {
  return data.map((b) => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength)));
}

/** " (values found in intContents)" when a message holds values in other fields than `field`, to explain a miss. */
export function valuesElsewhere<F extends string>(
  message: { readonly [K in F]: ArrayLike<unknown> } | undefined,
  fields: readonly F[],
  field: F,
): string {
  if (message === undefined) return '';
  const other = fields.filter((f) => f !== field && message[f].length > 0);
  return other.length === 0 ? '' : ` (values found in ${other.join(', ')})`;
}
