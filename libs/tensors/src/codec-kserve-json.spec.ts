import fc from 'fast-check';
import { arbTensorOf, arbTensors, expectSameTensor } from '../test/arbitraries';
import {
  decodeInferRequestJson,
  decodeInferResponseJson,
  encodeInferRequestJson,
  encodeInferResponseJson,
  joinBinaryBody,
  splitBinaryBody,
  tensorFromJson,
  tensorToJson,
  wantsBinaryOutput,
  type BinaryBody,
} from './codec-kserve-json';
import { DATA_TYPES, type DataType } from './dtype';
import type { AnyTensor } from './tensor';

const body = (b: BinaryBody) => Buffer.concat(b.parts);

/** Tensors whose values all have a JSON form: finite floats, safe int64s, UTF-8 BYTES. */
const JSONABLE: DataType[] = DATA_TYPES.filter(
  (t) => !['INT64', 'UINT64', 'FP16', 'BF16', 'FP32', 'FP64', 'BYTES'].includes(t),
);
const arbJsonTensor = fc
  .oneof(
    fc.constantFrom(...JSONABLE).chain(arbTensorOf),
    fc.record({
      name: fc.string({ minLength: 1 }),
      datatype: fc.constantFrom('FP32' as const),
      // JSON.stringify writes -0 as 0: a JSON text cannot keep the sign of zero (binary data does)
      data: fc
        .array(fc.float({ noNaN: true, noDefaultInfinity: true }), { maxLength: 6 })
        .map((v) => Float32Array.from(v, (x) => x + 0)),
    }),
    fc.record({
      name: fc.string({ minLength: 1 }),
      datatype: fc.constantFrom('INT64' as const),
      data: fc.array(fc.maxSafeInteger(), { maxLength: 6 }).map((v) => BigInt64Array.from(v, BigInt)),
    }),
    fc.record({
      name: fc.string({ minLength: 1 }),
      datatype: fc.constantFrom('BYTES' as const),
      data: fc.array(fc.string({ unit: 'grapheme' }), { maxLength: 6 }).map((v) => v.map((s) => Buffer.from(s))),
    }),
  )
  .map((t) => ('shape' in t ? t : { ...t, shape: [t.data.length] }) as AnyTensor);

describe('KServe v2 JSON tensors', () => {
  it('round-trips values that have a JSON form, flat and nested, through JSON text', () => {
    fc.assert(
      fc.property(arbJsonTensor, fc.boolean(), (t, nested) => {
        const text = JSON.stringify(tensorToJson(t, { nested }));
        expectSameTensor(tensorFromJson(JSON.parse(text)), t);
      }),
    );
  });

  it('writes the KServe shape of a tensor', () => {
    const t: AnyTensor = { name: 'x', datatype: 'INT32', shape: [2, 3], data: Int32Array.from([1, 2, 3, 4, 5, 6]) };
    expect(tensorToJson(t)).toEqual({ name: 'x', datatype: 'INT32', shape: [2, 3], data: [1, 2, 3, 4, 5, 6] });
    expect(tensorToJson(t, { nested: true }).data).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b: AnyTensor = { name: 'b', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) };
    expect(tensorToJson(b).data).toEqual([true, false]);
    const h: AnyTensor = { name: 'h', datatype: 'FP16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) };
    expect(tensorToJson(h).data).toEqual([1, -2]);
  });

  it('reads nested data, FP16/BF16 values and UTF-8 strings', () => {
    const t = tensorFromJson({
      name: 'x',
      datatype: 'FP32',
      shape: [2, 2],
      data: [
        [1, 2],
        [3, 4],
      ],
    });
    expect(Array.from(t.data as Float32Array)).toEqual([1, 2, 3, 4]);
    const h = tensorFromJson({ name: 'h', datatype: 'FP16', shape: [2], data: [1, 65520] });
    expect(Array.from(h.data as Uint16Array)).toEqual([0x3c00, 0x7c00]);
    const bf = tensorFromJson({ name: 'h', datatype: 'BF16', shape: [1], data: [1] });
    expect(Array.from(bf.data as Uint16Array)).toEqual([0x3f80]);
    const s = tensorFromJson({ name: 's', datatype: 'BYTES', shape: [1], data: ['héllo'] });
    expect(Buffer.from((s.data as Uint8Array[])[0] as Uint8Array).toString('hex')).toBe('68c3a96c6c6f');
  });

  it('reports shape, count, type and range problems precisely', () => {
    expect(() => tensorFromJson({ name: 'x', datatype: 'FP32', shape: [2, 3], data: [1, 2, 3, 4, 5] })).toThrow(
      new RangeError('tensor "x": shape [2,3] needs 6 FP32 elements (24 bytes), got 5 data values'),
    );
    expect(() => tensorFromJson({ name: 'x', datatype: 'FP32', shape: [2, 2], data: [[1, 2], [3]] })).toThrow(
      new RangeError('tensor "x": data[1] has 1 entries; shape [2,2] needs 2 at axis 1'),
    );
    expect(() => tensorFromJson({ name: 'x', datatype: 'FP32', shape: [2], data: [1, 'a'] })).toThrow(
      new TypeError('tensor "x": data[1] is "a"; FP32 values must be numbers'),
    );
    expect(() => tensorFromJson({ name: 'x', datatype: 'UINT8', shape: [1], data: [256] })).toThrow(
      new RangeError('tensor "x": data[0] = 256 is out of range for UINT8 [0, 255]'),
    );
    expect(() => tensorFromJson({ name: 'x', datatype: 'INT32', shape: [1], data: [1.5] })).toThrow(
      new TypeError('tensor "x": data[0] is 1.5; INT32 values must be integers'),
    );
    expect(() => tensorFromJson({ name: 'x', datatype: 'INT64', shape: [1], data: [2 ** 60] })).toThrow(
      new RangeError(
        'tensor "x": data[0] = 1152921504606847000 is beyond ±(2^53-1) and may have lost precision; send INT64 as binary data',
      ),
    );
    expect(() => tensorFromJson({ name: 'x', datatype: 'BOOL', shape: [1], data: [1] })).toThrow(
      new TypeError('tensor "x": data[0] is 1; BOOL values must be booleans'),
    );
    expect(() => tensorFromJson({ name: 'x', datatype: 'FP32', shape: [1] })).toThrow(
      new TypeError('tensor "x": data must be an array, got undefined'),
    );
    expect(() => tensorFromJson({ datatype: 'FP32', shape: [1], data: [1] })).toThrow(
      new TypeError('tensor name must be a string, got undefined'),
    );
    expect(() => tensorFromJson([])).toThrow(new TypeError('a tensor must be a JSON object, got array(0)'));
  });

  it('refuses values JSON cannot carry exactly', () => {
    const big: AnyTensor = { name: 'i', datatype: 'INT64', shape: [2], data: BigInt64Array.from([1n, 2n ** 62n]) };
    expect(() => tensorToJson(big)).toThrow(
      new RangeError(
        'tensor "i": INT64 value 4611686018427387904 at index 1 is not exact as a JSON number; use binary data',
      ),
    );
    const nan: AnyTensor = { name: 'f', datatype: 'FP32', shape: [1], data: Float32Array.from([Number.NaN]) };
    expect(() => tensorToJson(nan)).toThrow(
      new RangeError('tensor "f": FP32 value NaN at index 0 has no JSON form; use binary data'),
    );
    const bin: AnyTensor = { name: 'b', datatype: 'BYTES', shape: [1], data: [Uint8Array.from([0xff])] };
    expect(() => tensorToJson(bin)).toThrow(
      new TypeError('tensor "b": BYTES element 0 is not UTF-8 text; use binary data'),
    );
  });
});

describe('KServe v2 binary data extension', () => {
  it('round-trips every datatype as binary data in a request and a response', () => {
    fc.assert(
      fc.property(arbTensors, (tensors) => {
        const req = encodeInferRequestJson({ id: 'r1', inputs: tensors }, { binary: true });
        const decoded = decodeInferRequestJson(body(req), req.headerLength);
        expect(decoded.id).toBe('r1');
        decoded.inputs.forEach((t, i) => expectSameTensor(t, tensors[i] as AnyTensor));
        const res = encodeInferResponseJson({ modelName: 'm', modelVersion: '1', outputs: tensors }, { binary: true });
        const back = decodeInferResponseJson(
          body(res),
          res.headerLength === undefined ? undefined : String(res.headerLength),
        );
        expect([back.modelName, back.modelVersion]).toEqual(['m', '1']);
        back.outputs.forEach((t, i) => expectSameTensor(t, tensors[i] as AnyTensor));
      }),
    );
  });

  it('lays out header JSON then raw bytes, with binary_data_size per tensor', () => {
    const a: AnyTensor = { name: 'a', datatype: 'FP32', shape: [2], data: Float32Array.from([1, 2]) };
    const b: AnyTensor = { name: 'b', datatype: 'INT8', shape: [1], data: Int8Array.from([-1]) };
    const s: AnyTensor = { name: 's', datatype: 'BYTES', shape: [1], data: [Buffer.from('hi')] };
    const out = encodeInferRequestJson(
      { inputs: [a, b, s], outputs: [{ name: 'y', parameters: { binary_data: true } }] },
      {
        binary: (t) => t.name !== 'b',
      },
    );
    const header = JSON.stringify({
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } },
        { name: 'b', datatype: 'INT8', shape: [1], data: [-1] },
        { name: 's', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 6 } },
      ],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    });
    expect(out.headerLength).toBe(Buffer.byteLength(header));
    expect(out.contentType).toBe('application/octet-stream');
    expect(body(out).toString('hex')).toBe(Buffer.from(header).toString('hex') + '0000803f00000040' + '020000006869');
    expect(out.parts[1]?.buffer).toBe(a.data.buffer); // the chunk is a view, not a copy
    expect(out.byteLength).toBe(body(out).byteLength);
  });

  it('sends plain JSON when nothing is binary', () => {
    const out = encodeInferResponseJson({
      modelName: 'm',
      outputs: [{ name: 'y', datatype: 'FP64', shape: [], data: Float64Array.from([0.25]) }],
    });
    expect(out.headerLength).toBeUndefined();
    expect(out.contentType).toBe('application/json');
    expect(JSON.parse(body(out).toString())).toEqual({
      model_name: 'm',
      outputs: [{ name: 'y', datatype: 'FP64', shape: [], data: [0.25] }],
    });
  });

  it('tells which outputs the client wants binary', () => {
    const header = {
      inputs: [],
      parameters: { binary_data_output: true },
      outputs: [{ name: 'a', parameters: { binary_data: false } }, { name: 'b' }],
    };
    const req = decodeInferRequestJson(Buffer.from(JSON.stringify(header)));
    expect([wantsBinaryOutput(req, 'a'), wantsBinaryOutput(req, 'b'), wantsBinaryOutput(req, 'c')]).toEqual([
      false,
      true,
      true,
    ]);
    const plain = decodeInferRequestJson(
      Buffer.from(JSON.stringify({ inputs: [], outputs: [{ name: 'a', parameters: { binary_data: true } }] })),
    );
    expect([wantsBinaryOutput(plain, 'a'), wantsBinaryOutput(plain, 'b')]).toEqual([true, false]);
  });

  it('checks the binary part against the declared sizes', () => {
    const json = { inputs: [{ name: 'a', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } }] };
    const short = joinBinaryBody(json, [Buffer.alloc(4)]);
    expect(() => decodeInferRequestJson(body(short), short.headerLength)).toThrow(
      new RangeError('tensor "a": binary_data_size 8 at binary offset 0 runs past the 4-byte binary part'),
    );
    const long = joinBinaryBody(json, [Buffer.alloc(12)]);
    expect(() => decodeInferRequestJson(body(long), long.headerLength)).toThrow(
      new RangeError('inputs declare 8 bytes of binary data but the binary part has 12'),
    );
    const wrongShape = joinBinaryBody({ inputs: [{ ...json.inputs[0], shape: [3] }] }, [Buffer.alloc(8)]);
    expect(() => decodeInferRequestJson(body(wrongShape), wrongShape.headerLength)).toThrow(
      new RangeError('tensor "a": shape [3] needs 3 FP32 elements (12 bytes), got 8 bytes'),
    );
  });

  it('rejects a bad header length or JSON part', () => {
    expect(() => splitBinaryBody(Buffer.from('{}'), '5')).toThrow(
      new RangeError('inference-header-content-length "5" must be an integer from 0 to the body length 2'),
    );
    expect(() => splitBinaryBody(Buffer.from('{}'), 'x')).toThrow(RangeError);
    expect(() => splitBinaryBody(Buffer.from('{"a":'))).toThrow(/^the JSON part of the body is not valid JSON/);
    expect(splitBinaryBody(Buffer.from('{"a":1}xyz'), 7)).toEqual({ json: { a: 1 }, binary: Buffer.from('xyz') });
    expect(() => decodeInferRequestJson(Buffer.from('[]'))).toThrow(
      new TypeError('inference request must be a JSON object, got array(0)'),
    );
    expect(() => decodeInferRequestJson(Buffer.from('{"inputs":{}}'))).toThrow(
      new TypeError('inputs must be an array of tensors, got Object'),
    );
  });
});
