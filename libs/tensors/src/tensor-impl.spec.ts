import { createTensor, formatShape, parseShape, shapeSize } from './tensor-impl';

describe('shapes', () => {
  it('counts elements, with [] a scalar and any 0 dim empty', () => {
    expect(shapeSize([1, 3, 224, 224])).toBe(150528);
    expect(shapeSize([])).toBe(1);
    expect(shapeSize([4, 0, 7])).toBe(0);
    expect(formatShape([1, 3, 224, 224])).toBe('[1,3,224,224]');
  });

  it('rejects negative, fractional and unsafe dims and oversized products', () => {
    expect(() => shapeSize([1, -3])).toThrow(
      new RangeError('shape [1,-3] has dim 1 = -3; dims must be non-negative safe integers'),
    );
    expect(() => shapeSize([2.5])).toThrow(RangeError);
    expect(() => shapeSize([Number.NaN])).toThrow(RangeError);
    expect(() => shapeSize([2 ** 53])).toThrow(RangeError);
    expect(() => shapeSize([2 ** 30, 2 ** 30])).toThrow(
      new RangeError('shape [1073741824,1073741824] has more than 2^53-1 elements'),
    );
  });

  it('parses protobuf int64 dims and names the tensor in errors', () => {
    expect(parseShape([1n, 3n, 0n])).toEqual([1, 3, 0]);
    expect(() => parseShape([1n, -1n], 'x')).toThrow(
      new RangeError('tensor "x": shape [1,-1] has dim 1 = -1; dims must be non-negative safe integers'),
    );
    expect(() => parseShape([2n ** 60n])).toThrow(RangeError);
    expect(() => parseShape(['3'], 'x')).toThrow(
      new TypeError('tensor "x": shape dim 0 is "3"; dims must be integers'),
    );
    expect(() => parseShape('3')).toThrow(new TypeError('shape must be an array, got "3"'));
  });
});

describe('createTensor', () => {
  it('keeps the data it is given', () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6]);
    const t = createTensor('FP32', [2, 3], data, 'x');
    expect(t).toEqual({ name: 'x', datatype: 'FP32', shape: [2, 3], data });
    expect(t.data).toBe(data);
    expect('name' in createTensor('FP32', [6], data)).toBe(false);
  });

  it('reports expected vs got element counts with bytes', () => {
    expect(() => createTensor('FP32', [2, 3], new Float32Array(5), 'x')).toThrow(
      new RangeError('tensor "x": shape [2,3] needs 6 FP32 elements (24 bytes), got 5'),
    );
    expect(() => createTensor('BYTES', [3], [new Uint8Array(1)])).toThrow(
      new RangeError('shape [3] needs 3 BYTES elements, got 1'),
    );
  });

  it('rejects data of another TypedArray type, even one of the same element size', () => {
    expect(() => createTensor('FP16', [2], new Int16Array(2) as unknown as Uint16Array)).toThrow(
      new TypeError('FP16 data must be Uint16Array, got Int16Array'),
    );
    expect(() => createTensor('INT64', [1], [1n] as unknown as BigInt64Array)).toThrow(TypeError);
    expect(() => createTensor('BYTES', [1], ['a'] as unknown as Uint8Array[])).toThrow(
      new TypeError('BYTES data must be an array of Uint8Array, got array(1)'),
    );
  });

  it('accepts a Buffer as UINT8/BOOL data and BYTES elements', () => {
    expect(createTensor('UINT8', [2], Buffer.from([1, 2])).data).toEqual(Buffer.from([1, 2]));
    expect(createTensor('BYTES', [1], [Buffer.from('ab')]).data).toHaveLength(1);
  });

  it('rejects an unknown datatype', () => {
    expect(() => createTensor('F32' as 'FP32', [1], new Float32Array(1))).toThrow(
      /^datatype "F32" is not a KServe v2 datatype/,
    );
  });
});
