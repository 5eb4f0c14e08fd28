import { tf } from '@bundlegate/protos';
import { onnx } from 'onnx-proto';
import * as ort from 'onnxruntime-common';
import {
  DATA_TYPES,
  DATA_TYPE_TABLE,
  dataTypeFromOnnx,
  dataTypeFromOrt,
  dataTypeFromTf,
  dataTypeInfo,
  dataTypeToOrt,
  elementByteSize,
  isDataType,
  parseDataType,
  typedArrayConstructor,
  type DataType,
  type DataTypeMap,
  type NumericDataType,
  type OrtTensorType,
} from './dtype';
import { isTensorData } from './tensor-impl';

// ---- compile-time: the runtime table's constructors build exactly the DataTypeMap types ----
// (TypedArrays differ structurally only by their toStringTag literal, so that is what is compared.)
type Tag<A> = A extends { readonly [Symbol.toStringTag]: infer S } ? S : never;
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
type Table = typeof DATA_TYPE_TABLE;
type TwinAgrees = {
  [K in NumericDataType]: Equal<Tag<InstanceType<Table[K]['typedArray']>>, Tag<DataTypeMap[K]>>;
};
type AllTrue<T> = T[keyof T] extends true ? true : false;
const twinAgrees: AllTrue<TwinAgrees> = true;
const bytesAgree: Equal<DataTypeMap['BYTES'], Uint8Array[]> & Equal<Table['BYTES']['typedArray'], undefined> = true;
// every ort string we name is one onnxruntime knows, with the same data type as ours
type OrtAgrees = {
  [K in Exclude<NumericDataType, 'BF16'>]: Table[K]['ort'] extends ort.Tensor.Type
    ? Equal<Tag<ort.Tensor.DataTypeMap[Table[K]['ort']]>, Tag<DataTypeMap[K]>>
    : false;
};
const ortAgrees: AllTrue<OrtAgrees> & Equal<Table['BF16']['ort'], undefined> = true;

describe('dtype table', () => {
  it('agrees with DataTypeMap at compile time', () => {
    expect([twinAgrees, bytesAgree, ortAgrees]).toEqual([true, true, true]);
  });

  it('has one row per KServe datatype, keyed by its own name, in spec order', () => {
    expect(DATA_TYPES).toEqual([
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
    ]);
    for (const t of DATA_TYPES) expect(DATA_TYPE_TABLE[t].name).toBe(t);
  });

  it.each(DATA_TYPES.filter((t): t is NumericDataType => t !== 'BYTES'))(
    '%s: the constructor makes data the table accepts, of the listed byte size',
    (t) => {
      const ctor = typedArrayConstructor(t);
      const data = new ctor(3);
      expect(ctor.BYTES_PER_ELEMENT).toBe(elementByteSize(t));
      expect(isTensorData(t, data)).toBe(true);
    },
  );

  it('uses the TensorFlow DataType enum values of the generated protos', () => {
    for (const t of DATA_TYPES) {
      const { tf: value, tfName } = DATA_TYPE_TABLE[t];
      expect([t, tf.DataType[tfName as keyof typeof tf.DataType]]).toEqual([t, value]);
      expect(dataTypeFromTf(value)).toBe(t);
    }
    expect(dataTypeFromTf(tf.DataType.DT_HALF)).toBe('FP16');
    expect(dataTypeFromTf(tf.DataType.DT_BFLOAT16)).toBe('BF16');
    expect(dataTypeFromTf(tf.DataType.DT_STRING)).toBe('BYTES');
    expect(dataTypeFromTf(tf.DataType.DT_FLOAT_REF)).toBe('FP32');
  });

  it("uses ONNX's TensorProto.DataType codes", () => {
    const codes = onnx.TensorProto.DataType;
    const expected: Record<DataType, number> = {
      BOOL: codes.BOOL,
      UINT8: codes.UINT8,
      UINT16: codes.UINT16,
      UINT32: codes.UINT32,
      UINT64: codes.UINT64,
      INT8: codes.INT8,
      INT16: codes.INT16,
      INT32: codes.INT32,
      INT64: codes.INT64,
      FP16: codes.FLOAT16,
      BF16: codes.BFLOAT16,
      FP32: codes.FLOAT,
      FP64: codes.DOUBLE,
      BYTES: codes.STRING,
    };
    for (const t of DATA_TYPES) {
      expect([t, DATA_TYPE_TABLE[t].onnx]).toEqual([t, expected[t]]);
      expect(dataTypeFromOnnx(expected[t])).toBe(t);
    }
  });

  it.each(DATA_TYPES.filter((t) => t !== 'BYTES' && t !== 'BF16') as Exclude<NumericDataType, 'BF16'>[])(
    '%s: onnxruntime accepts our data under our ort type string',
    (t) => {
      const type: OrtTensorType = dataTypeToOrt(t);
      const tensor = new ort.Tensor(type, new (typedArrayConstructor(t))(2), [2]);
      expect(tensor.type).toBe(type);
      expect(dataTypeFromOrt(type)).toBe(t);
    },
  );

  it('maps BYTES to ort string tensors and BF16 to none', () => {
    expect(dataTypeToOrt('BYTES')).toBe('string');
    expect(dataTypeFromOrt('string')).toBe('BYTES');
    expect(DATA_TYPE_TABLE.BF16.ort).toBeUndefined();
    expect(() => dataTypeToOrt('BF16')).toThrow(new TypeError('BF16 has no onnxruntime-node tensor type'));
  });
});

describe('dtype lookups', () => {
  it('rejects unknown names with the accepted list', () => {
    expect(isDataType('FP32')).toBe(true);
    expect(isDataType('fp32')).toBe(false);
    expect(isDataType('toString')).toBe(false);
    expect(() => parseDataType('FLOAT32')).toThrow(
      new TypeError(
        'datatype "FLOAT32" is not a KServe v2 datatype; expected one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64, BYTES',
      ),
    );
    expect(() => dataTypeInfo('x')).toThrow(TypeError);
    expect(dataTypeInfo('INT64').typedArray).toBe(BigInt64Array);
  });

  it('says BYTES has no element size or TypedArray', () => {
    expect(() => elementByteSize('BYTES')).toThrow(new RangeError('BYTES elements have no fixed byte size'));
    expect(() => typedArrayConstructor('BYTES' as NumericDataType)).toThrow(
      new TypeError('BYTES data is an array of Uint8Array, not a TypedArray'),
    );
  });

  it('rejects foreign type codes it cannot represent', () => {
    expect(() => dataTypeFromTf(tf.DataType.DT_COMPLEX64)).toThrow(
      /^TensorFlow DataType 8 has no KServe v2 equivalent; supported: DT_BOOL=10, /,
    );
    expect(() => dataTypeFromTf(tf.DataType.DT_INVALID)).toThrow(TypeError);
    expect(() => dataTypeFromOnnx(onnx.TensorProto.DataType.COMPLEX64)).toThrow(
      /^ONNX element type 14 has no KServe v2 equivalent/,
    );
    expect(() => dataTypeFromOrt('int4')).toThrow(
      /^onnxruntime type "int4" has no KServe v2 equivalent; supported: bool, uint8/,
    );
  });
});
