// fast-check arbitraries for tensors of every datatype, leaning on the values codecs get wrong: NaN, -0, extremes.
import fc from 'fast-check';
import { DATA_TYPES, type AnyTensor, type DataType, type DataTypeMap } from '../src';

/** Shapes of rank 0–4 with dims 0–5 (so sizes stay small and empty tensors occur). */
export const arbShape: fc.Arbitrary<number[]> = fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 });

function ints(min: number, max: number): fc.Arbitrary<number> {
  return fc.oneof(fc.constantFrom(min, max, 0, -1 >= min ? -1 : 1), fc.integer({ min, max }));
}

function bigints(min: bigint, max: bigint): fc.Arbitrary<bigint> {
  return fc.oneof(fc.constantFrom(min, max, 0n, min + 1n, max - 1n), fc.bigInt({ min, max }));
}

/** 16-bit patterns including ±0, ±Inf, NaNs and subnormals of FP16 and BF16. */
const bits16 = fc.oneof(
  fc.constantFrom(0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7f80, 0xff80, 0x7fc0, 0x0001, 0x03ff, 0x7bff, 0xffff),
  fc.integer({ min: 0, max: 0xffff }),
);

const floats32 = fc.oneof(
  fc.constantFrom(Number.NaN, -0, 0, Infinity, -Infinity, 3.4028234663852886e38, 1.401298464324817e-45),
  fc.float(),
);

const floats64 = fc.oneof(
  fc.constantFrom(Number.NaN, -0, 0, Infinity, -Infinity, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.double(),
);

function elements(datatype: DataType, n: number): fc.Arbitrary<DataTypeMap[DataType]> {
  const of = <V>(arb: fc.Arbitrary<V>) => fc.array(arb, { minLength: n, maxLength: n });
  switch (datatype) {
    case 'BOOL':
      return of(fc.boolean()).map((v) => Uint8Array.from(v, (b) => (b ? 1 : 0)));
    case 'UINT8':
      return of(ints(0, 0xff)).map((v) => Uint8Array.from(v));
    case 'UINT16':
      return of(ints(0, 0xffff)).map((v) => Uint16Array.from(v));
    case 'UINT32':
      return of(ints(0, 0xffffffff)).map((v) => Uint32Array.from(v));
    case 'UINT64':
      return of(bigints(0n, 2n ** 64n - 1n)).map((v) => BigUint64Array.from(v));
    case 'INT8':
      return of(ints(-0x80, 0x7f)).map((v) => Int8Array.from(v));
    case 'INT16':
      return of(ints(-0x8000, 0x7fff)).map((v) => Int16Array.from(v));
    case 'INT32':
      return of(ints(-0x80000000, 0x7fffffff)).map((v) => Int32Array.from(v));
    case 'INT64':
      return of(bigints(-(2n ** 63n), 2n ** 63n - 1n)).map((v) => BigInt64Array.from(v));
    case 'FP16':
    case 'BF16':
      return of(bits16).map((v) => Uint16Array.from(v));
    case 'FP32':
      return of(floats32).map((v) => Float32Array.from(v));
    case 'FP64':
      return of(floats64).map((v) => Float64Array.from(v));
    case 'BYTES':
      return of(fc.uint8Array({ maxLength: 12 }));
  }
}

export function arbTensorOf(datatype: DataType): fc.Arbitrary<AnyTensor> {
  return fc.record({ name: fc.string({ minLength: 1, maxLength: 8 }), shape: arbShape }).chain(({ name, shape }) =>
    elements(
      datatype,
      shape.reduce((a, b) => a * b, 1),
    ).map((data) => ({ name, datatype, shape, data }) as AnyTensor),
  );
}

export const arbTensor: fc.Arbitrary<AnyTensor> = fc.constantFrom(...DATA_TYPES).chain(arbTensorOf);

/** A list of tensors with distinct names, as a request carries. */
export const arbTensors: fc.Arbitrary<AnyTensor[]> = fc
  .array(arbTensor, { maxLength: 5 })
  .map((tensors) => tensors.map((t, i) => ({ ...t, name: `${t.name}#${i}` }) as AnyTensor));

/** Asserts two tensors hold the same name, datatype, shape and elements (floats by Object.is: NaN = NaN, -0 ≠ 0). */
export function expectSameTensor(actual: AnyTensor, expected: AnyTensor): void {
  expect({ name: actual.name, datatype: actual.datatype, shape: [...actual.shape] }).toEqual({
    name: expected.name,
    datatype: expected.datatype,
    shape: [...expected.shape],
  });
  expect(Object.prototype.toString.call(actual.data)).toBe(Object.prototype.toString.call(expected.data));
  expect(actual.data.length).toBe(expected.data.length);
  for (let i = 0; i < expected.data.length; i++) {
    const a: unknown = actual.data[i];
    const e: unknown = expected.data[i];
    if (ArrayBuffer.isView(a) && ArrayBuffer.isView(e)) {
      const [x, y] = [
        Buffer.from(a.buffer, a.byteOffset, a.byteLength),
        Buffer.from(e.buffer, e.byteOffset, e.byteLength),
      ];
      if (!x.equals(y)) throw new Error(`BYTES element ${i}: ${x.toString('hex')} ≠ ${y.toString('hex')}`);
    } else if (!Object.is(a, e)) {
      throw new Error(`${expected.datatype} element ${i}: got ${String(a)}, expected ${String(e)}`);
    }
  }
}
