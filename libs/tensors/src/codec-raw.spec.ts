import fc from 'fast-check';
import { arbTensor, expectSameTensor } from '../test/arbitraries';
import {
  decodeBytesElements,
  encodeBytesElements,
  rawByteLength,
  tensorFromRaw,
  tensorToRaw,
  viewTypedArray,
} from './codec-raw';

describe('raw little-endian contents', () => {
  it('round-trips every datatype bit for bit', () => {
    fc.assert(
      fc.property(arbTensor, (t) => {
        const raw = tensorToRaw(t);
        expect(raw.byteLength).toBe(rawByteLength(t));
        expectSameTensor(tensorFromRaw(t.datatype, t.shape, raw, t.name), t);
      }),
    );
  });

  it('writes little-endian, whatever the type', () => {
    const raw = tensorToRaw({ datatype: 'INT32', shape: [2], data: Int32Array.from([1, -2]) });
    expect(raw.toString('hex')).toBe('01000000feffffff');
    const fp64 = tensorToRaw({ datatype: 'FP64', shape: [], data: Float64Array.from([1]) });
    expect(fp64.toString('hex')).toBe('000000000000f03f');
  });

  it('views aligned bytes without copying', () => {
    const backing = Buffer.alloc(64);
    const bytes = backing.subarray(8, 8 + 16); // offset 8: aligned for 4 and 8 bytes
    bytes.writeFloatLE(1.5, 0);
    const t = tensorFromRaw('FP32', [2, 2], bytes);
    expect(t.data[0]).toBe(1.5);
    expect(t.data.buffer).toBe(backing.buffer);
    bytes.writeFloatLE(2.5, 4);
    expect(t.data[1]).toBe(2.5); // shares memory
    expect(tensorToRaw(t).buffer).toBe(backing.buffer); // and back without a copy
  });

  it('copies unaligned bytes into an aligned array', () => {
    const backing = new Uint8Array(64);
    const bytes = new Uint8Array(backing.buffer, 3, 16); // offset 3: misaligned
    new DataView(backing.buffer).setFloat64(3, -7.25, true);
    const t = tensorFromRaw('FP64', [2], bytes);
    expect(t.data[0]).toBe(-7.25);
    expect(t.data.buffer).not.toBe(backing.buffer);
    expect(t.data.byteOffset % 8).toBe(0);
  });

  it('reports expected vs got bytes', () => {
    expect(() => tensorFromRaw('FP32', [1, 3, 224, 224], new Uint8Array(1000), 'image')).toThrow(
      new RangeError('tensor "image": shape [1,3,224,224] needs 150528 FP32 elements (602112 bytes), got 1000 bytes'),
    );
    expect(() => viewTypedArray('INT16', new Uint8Array(3))).toThrow(
      new RangeError('3 bytes is not a whole number of 2-byte INT16 elements'),
    );
  });
});

describe('BYTES raw form', () => {
  it('prefixes each element with its uint32 little-endian length', () => {
    const raw = encodeBytesElements([Buffer.from('ab'), Buffer.alloc(0), Buffer.from('xyz')]);
    expect(raw.toString('hex')).toBe('020000006162' + '00000000' + '0300000078797a');
    const back = decodeBytesElements(raw);
    expect(back.map((b) => Buffer.from(b).toString())).toEqual(['ab', '', 'xyz']);
    expect(back[2]?.buffer).toBe(raw.buffer); // subarrays, not copies
  });

  it('reports broken framing and count mismatches', () => {
    expect(() => decodeBytesElements(Buffer.from('0200000061', 'hex'), 'x')).toThrow(
      new RangeError('tensor "x": BYTES element 0 at byte 0 declares 2 bytes but only 1 remain'),
    );
    expect(() => decodeBytesElements(Buffer.from('01000000610100', 'hex'))).toThrow(
      new RangeError('BYTES element 1 at byte 5 has a truncated length prefix (2 of 4 bytes)'),
    );
    const two = encodeBytesElements([Buffer.from('a'), Buffer.from('b')]);
    expect(() => tensorFromRaw('BYTES', [3], two, 's')).toThrow(
      new RangeError('tensor "s": shape [3] needs 3 BYTES elements, got 2 in 10 raw bytes'),
    );
  });
});
