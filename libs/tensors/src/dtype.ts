/**
 * The one dtype table: KServe v2 datatype names ↔ TensorFlow `DataType` ↔ ONNX element type ↔ TypedArray ↔ byte size.
 */

/** KServe v2 / Open Inference Protocol datatype names, in the order the spec lists them. */
export const DATA_TYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'BF16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

export type DataType = (typeof DATA_TYPES)[number];

/**
 * What a tensor's `data` holds for each datatype. BOOL is one byte per element (0 or 1); FP16 and BF16 are the raw
 * 16-bit patterns (see float16.ts to convert); BYTES is one Uint8Array per element.
 */
export interface DataTypeMap {
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  FP16: Uint16Array;
  BF16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  BYTES: Uint8Array[];
}

/** Datatypes whose data is one TypedArray with a fixed element size. */
export type NumericDataType = Exclude<DataType, 'BYTES'>;

export type TypedArray = DataTypeMap[NumericDataType];

/** Datatypes whose elements are JS bigints. */
export type BigIntDataType = 'INT64' | 'UINT64';

/** onnxruntime-node `Tensor.Type` strings for the types this table maps. */
export type OrtTensorType =
  | 'bool'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float16'
  | 'float32'
  | 'float64'
  | 'string';

/** A constructor of the TypedArray `DataTypeMap[T]`, or `undefined` for BYTES. */
export interface TypedArrayConstructorOf<A> {
  new (length: number): A;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): A;
  readonly BYTES_PER_ELEMENT: number;
}

export interface DataTypeInfo<T extends DataType = DataType> {
  /** KServe v2 name. */
  readonly name: T;
  /** `tensorflow.DataType` enum value (tensorflow/core/framework/types.proto). */
  readonly tf: number;
  /** `tensorflow.DataType` enum name. */
  readonly tfName: string;
  /** ONNX `TensorProto.DataType` element type code (onnx/onnx.proto). */
  readonly onnx: number;
  /** onnxruntime-node tensor type string; `undefined` for BF16, which onnxruntime-node tensors cannot hold. */
  readonly ort: OrtTensorType | undefined;
  /** Constructor of the TypedArray holding the data; `undefined` for BYTES (an array of Uint8Array). */
  readonly typedArray: T extends NumericDataType ? TypedArrayConstructorOf<DataTypeMap[T]> : undefined;
  /** Bytes per element in the raw little-endian encoding; `undefined` for BYTES (variable length). */
  readonly byteSize: T extends NumericDataType ? number : undefined;
}

/**
 * The runtime twin of `DataTypeMap`. Declared with `satisfies` so the constructors keep their own types, which
 * dtype.spec.ts checks against `DataTypeMap` at compile time.
 */
// prettier-ignore
export const DATA_TYPE_TABLE = {
  BOOL: { name: 'BOOL', tf: 10, tfName: 'DT_BOOL', onnx: 9, ort: 'bool', typedArray: Uint8Array, byteSize: 1 },
  UINT8: { name: 'UINT8', tf: 4, tfName: 'DT_UINT8', onnx: 2, ort: 'uint8', typedArray: Uint8Array, byteSize: 1 },
  UINT16: { name: 'UINT16', tf: 17, tfName: 'DT_UINT16', onnx: 4, ort: 'uint16', typedArray: Uint16Array, byteSize: 2 },
  UINT32: { name: 'UINT32', tf: 22, tfName: 'DT_UINT32', onnx: 12, ort: 'uint32', typedArray: Uint32Array, byteSize: 4 },
  UINT64: { name: 'UINT64', tf: 23, tfName: 'DT_UINT64', onnx: 13, ort: 'uint64', typedArray: BigUint64Array, byteSize: 8 },
  INT8: { name: 'INT8', tf: 6, tfName: 'DT_INT8', onnx: 3, ort: 'int8', typedArray: Int8Array, byteSize: 1 },
  INT16: { name: 'INT16', tf: 5, tfName: 'DT_INT16', onnx: 5, ort: 'int16', typedArray: Int16Array, byteSize: 2 },
  INT32: { name: 'INT32', tf: 3, tfName: 'DT_INT32', onnx: 6, ort: 'int32', typedArray: Int32Array, byteSize: 4 },
  INT64: { name: 'INT64', tf: 9, tfName: 'DT_INT64', onnx: 7, ort: 'int64', typedArray: BigInt64Array, byteSize: 8 },
  FP16: { name: 'FP16', tf: 19, tfName: 'DT_HALF', onnx: 10, ort: 'float16', typedArray: Uint16Array, byteSize: 2 },
  // onnxruntime-node's Tensor.Type has no bfloat16 string, so BF16 tensors cannot be handed to it directly
  BF16: { name: 'BF16', tf: 14, tfName: 'DT_BFLOAT16', onnx: 16, ort: undefined, typedArray: Uint16Array, byteSize: 2 },
  FP32: { name: 'FP32', tf: 1, tfName: 'DT_FLOAT', onnx: 1, ort: 'float32', typedArray: Float32Array, byteSize: 4 },
  FP64: { name: 'FP64', tf: 2, tfName: 'DT_DOUBLE', onnx: 11, ort: 'float64', typedArray: Float64Array, byteSize: 8 },
  BYTES: { name: 'BYTES', tf: 7, tfName: 'DT_STRING', onnx: 8, ort: 'string', typedArray: undefined, byteSize: undefined },
} as const satisfies { readonly [K in DataType]: DataTypeInfo<K> };

const DATA_TYPE_LIST = DATA_TYPES.join(', ');

const BY_TF = new Map<number, DataType>(DATA_TYPES.map((t) => [DATA_TYPE_TABLE[t].tf, t]));
const BY_ONNX = new Map<number, DataType>(DATA_TYPES.map((t) => [DATA_TYPE_TABLE[t].onnx, t]));
const BY_ORT = new Map<string, DataType>(
  DATA_TYPES.flatMap((t) => {
    const ort = DATA_TYPE_TABLE[t].ort;
    return ort === undefined ? [] : [[ort, t] as const];
  }),
);

/** TensorFlow marks reference types by adding this offset to the base type (DT_FLOAT_REF = 101). */
const TF_REF_OFFSET = 100;

export function isDataType(value: unknown): value is DataType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DATA_TYPE_TABLE, value);
}

export function isNumericDataType(value: unknown): value is NumericDataType {
  return isDataType(value) && value !== 'BYTES';
}

/** Narrows a string to a DataType, or throws a TypeError naming the accepted values. */
export function parseDataType(value: unknown, what = 'datatype'): DataType {
  if (isDataType(value)) return value;
  throw new TypeError(`${what} ${formatValue(value)} is not a KServe v2 datatype; expected one of ${DATA_TYPE_LIST}`);
}

/** The table row for a datatype; throws a TypeError for an unknown name. */
export function dataTypeInfo<T extends DataType>(datatype: T): DataTypeInfo<T>;
export function dataTypeInfo(datatype: string): DataTypeInfo;
export function dataTypeInfo(datatype: string): DataTypeInfo {
  return DATA_TYPE_TABLE[parseDataType(datatype)] as DataTypeInfo;
}

/** Bytes per element in the raw encoding; throws a RangeError for BYTES, whose elements have no fixed size. */
export function elementByteSize(datatype: DataType): number {
  const size = DATA_TYPE_TABLE[parseDataType(datatype)].byteSize;
  if (size === undefined) throw new RangeError(`${datatype} elements have no fixed byte size`);
  return size;
}

/** The TypedArray constructor for a numeric datatype; throws a TypeError for BYTES. */
export function typedArrayConstructor<T extends NumericDataType>(datatype: T): TypedArrayConstructorOf<DataTypeMap[T]> {
  const ctor = DATA_TYPE_TABLE[parseDataType(datatype)].typedArray;
  if (ctor === undefined) throw new TypeError(`${datatype} data is an array of Uint8Array, not a TypedArray`);
  return ctor as unknown as TypedArrayConstructorOf<DataTypeMap[T]>;
}

/** KServe datatype for a `tensorflow.DataType` value; `_REF` variants map like their base type. */
export function dataTypeFromTf(tf: number): DataType {
  const base = tf > TF_REF_OFFSET ? tf - TF_REF_OFFSET : tf;
  const found = BY_TF.get(base);
  if (found === undefined) {
    throw new TypeError(`TensorFlow DataType ${tf} has no KServe v2 equivalent; supported: ${tfSupportedList()}`);
  }
  return found;
}

export function dataTypeToTf(datatype: DataType): number {
  return DATA_TYPE_TABLE[parseDataType(datatype)].tf;
}

/** KServe datatype for an ONNX `TensorProto.DataType` element type code. */
export function dataTypeFromOnnx(onnx: number): DataType {
  const found = BY_ONNX.get(onnx);
  if (found === undefined) {
    throw new TypeError(`ONNX element type ${onnx} has no KServe v2 equivalent; supported: ${onnxSupportedList()}`);
  }
  return found;
}

export function dataTypeToOnnx(datatype: DataType): number {
  return DATA_TYPE_TABLE[parseDataType(datatype)].onnx;
}

/** KServe datatype for an onnxruntime-node tensor type string ('float32', 'int64', 'string', …). */
export function dataTypeFromOrt(ort: string): DataType {
  const found = BY_ORT.get(ort);
  if (found === undefined) {
    throw new TypeError(
      `onnxruntime type ${formatValue(ort)} has no KServe v2 equivalent; supported: ${[...BY_ORT.keys()].join(', ')}`,
    );
  }
  return found;
}

/** onnxruntime-node tensor type string for a datatype; throws a TypeError for BF16, which it cannot hold. */
export function dataTypeToOrt(datatype: DataType): OrtTensorType {
  const ort = DATA_TYPE_TABLE[parseDataType(datatype)].ort;
  if (ort === undefined) throw new TypeError(`${datatype} has no onnxruntime-node tensor type`);
  return ort;
}

function tfSupportedList(): string {
  return DATA_TYPES.map((t) => `${DATA_TYPE_TABLE[t].tfName}=${DATA_TYPE_TABLE[t].tf}`).join(', ');
}

function onnxSupportedList(): string {
  return DATA_TYPES.map((t) => `${t}=${DATA_TYPE_TABLE[t].onnx}`).join(', ');
}

/** Renders a value for an error message without dumping large or nested data. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value === null || typeof value !== 'object') return String(value);
  return Object.prototype.toString.call(value).slice(8, -1);
}
