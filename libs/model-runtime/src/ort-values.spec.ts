import * as ort from 'onnxruntime-node';
import type { Tensor } from '@bundlegate/tensors';
import { fromOrtValue, ownsBuffer, toOrtValue } from './ort-values';

describe('ort values', () => {
  it('hands numeric data to onnxruntime as the same view', () => {
    const data = new Float32Array([1, 2, 3, 4]);
    const v = toOrtValue('x', { datatype: 'FP32', shape: [2, 2], data });
    expect(v).toEqual({ name: 'x', type: 'float32', dims: [2, 2], data });
    expect(v.data).toBe(data);
    // onnxruntime accepts it as is
    expect(new ort.Tensor(v.type, v.data as Float32Array, v.dims).data).toBe(data);
  });

  it('maps every datatype to the onnxruntime type of the same width', () => {
    const cases: [Tensor, string][] = [
      [{ datatype: 'BOOL', shape: [1], data: new Uint8Array(1) }, 'bool'],
      [{ datatype: 'INT64', shape: [1], data: new BigInt64Array(1) }, 'int64'],
      [{ datatype: 'UINT64', shape: [1], data: new BigUint64Array(1) }, 'uint64'],
      [{ datatype: 'FP16', shape: [1], data: new Uint16Array(1) }, 'float16'],
      [{ datatype: 'FP64', shape: [1], data: new Float64Array(1) }, 'float64'],
      [{ datatype: 'INT8', shape: [1], data: new Int8Array(1) }, 'int8'],
    ];
    for (const [tensor, type] of cases) {
      const v = toOrtValue('x', tensor);
      expect(v.type).toBe(type);
      expect(() => new ort.Tensor(v.type, v.data as never, v.dims)).not.toThrow();
    }
  });

  it('turns BYTES into UTF-8 strings and back', () => {
    const v = toOrtValue('s', { datatype: 'BYTES', shape: [2], data: [Buffer.from('héllo'), Buffer.from('')] });
    expect(v.data).toEqual(['héllo', '']);
    const back = fromOrtValue('s', 'string', [2], ['tampered', '∑']);
    expect(back.datatype).toBe('BYTES');
    expect((back.data as Uint8Array[]).map((b) => Buffer.from(b).toString())).toEqual(['tampered', '∑']);
  });

  it('checks what onnxruntime returned against its shape', () => {
    expect(() => fromOrtValue('y', 'float32', [3], new Float32Array(2))).toThrow(RangeError);
    expect(fromOrtValue('y', 'int32', [2], new Int32Array([5, 6]))).toEqual({ name: 'y', datatype: 'INT32', shape: [2], data: new Int32Array([5, 6]) });
  });

  it('marks as movable only data that owns its whole buffer, when the caller allows it', () => {
    const whole = new Float32Array(4);
    const view = new Float32Array(new ArrayBuffer(32), 8, 4);
    expect(ownsBuffer(whole)).toBe(true);
    expect(ownsBuffer(view)).toBe(false);
    expect(ownsBuffer(new Float32Array(new SharedArrayBuffer(16)))).toBe(false);
    expect(toOrtValue('x', { datatype: 'FP32', shape: [4], data: whole }, true).movable).toBe(true);
    expect(toOrtValue('x', { datatype: 'FP32', shape: [4], data: whole }).movable).toBeUndefined();
    expect(toOrtValue('x', { datatype: 'FP32', shape: [4], data: view }, true).movable).toBeUndefined();
  });
});
