import { kserve } from '@bundlegate/protos';
import fc from 'fast-check';
import { arbTensorOf, arbTensors, expectSameTensor } from '../test/arbitraries';
import {
  decodeKServeTensors,
  fromModelInferRequest,
  fromModelInferResponse,
  tensorFromContents,
  toModelInferRequest,
  toModelInferResponse,
  type KServeWireTensor,
} from './codec-kserve';
import { DATA_TYPES, type DataType } from './dtype';
import type { AnyTensor } from './tensor';

/** Through real protobuf bytes, as a peer would see them. */
function overTheWireRequest(request: kserve.ModelInferRequest): kserve.ModelInferRequest {
  return kserve.ModelInferRequest.decode(kserve.ModelInferRequest.encode(request).finish());
}
function overTheWireResponse(response: kserve.ModelInferResponse): kserve.ModelInferResponse {
  return kserve.ModelInferResponse.decode(kserve.ModelInferResponse.encode(response).finish());
}

const TYPED: DataType[] = DATA_TYPES.filter((t) => t !== 'FP16' && t !== 'BF16');
const arbTypedTensors = fc
  .array(fc.constantFrom(...TYPED).chain(arbTensorOf), { maxLength: 5 })
  .map((ts) => ts.map((t, i) => ({ ...t, name: `${t.name}#${i}` }) as AnyTensor));

function wire(datatype: string, shape: bigint[], contents: Partial<kserve.InferTensorContents>): KServeWireTensor {
  return {
    name: 'x',
    datatype,
    shape,
    parameters: {},
    contents: { ...kserve.InferTensorContents.fromPartial({}), ...contents },
  };
}

describe('KServe v2 gRPC codec', () => {
  it('round-trips every datatype raw through ModelInferRequest bytes', () => {
    fc.assert(
      fc.property(arbTensors, (tensors) => {
        const request = toModelInferRequest({ modelName: 'm', inputs: tensors });
        expect(request.rawInputContents).toHaveLength(tensors.length);
        const decoded = fromModelInferRequest(overTheWireRequest(request));
        expect(decoded).toHaveLength(tensors.length);
        decoded.forEach((t, i) => expectSameTensor(t, tensors[i] as AnyTensor));
      }),
    );
  });

  it('round-trips every typed datatype through *_contents in ModelInferResponse bytes', () => {
    fc.assert(
      fc.property(arbTypedTensors, (tensors) => {
        const response = toModelInferResponse({ modelName: 'm', outputs: tensors }, { contents: 'typed' });
        expect(response.rawOutputContents).toHaveLength(0);
        const decoded = fromModelInferResponse(overTheWireResponse(response));
        decoded.forEach((t, i) => expectSameTensor(t, tensors[i] as AnyTensor));
      }),
    );
  });

  it('round-trips raw outputs and typed inputs too', () => {
    fc.assert(
      fc.property(arbTensors, arbTypedTensors, (raw, typed) => {
        fromModelInferResponse(overTheWireResponse(toModelInferResponse({ modelName: 'm', outputs: raw }))).forEach(
          (t, i) => expectSameTensor(t, raw[i] as AnyTensor),
        );
        const request = toModelInferRequest({ modelName: 'm', inputs: typed }, { contents: 'typed' });
        fromModelInferRequest(overTheWireRequest(request)).forEach((t, i) =>
          expectSameTensor(t, typed[i] as AnyTensor),
        );
      }),
      { numRuns: 50 },
    );
  });

  it('puts each datatype in its own contents field', () => {
    const request = toModelInferRequest(
      {
        modelName: 'm',
        modelVersion: '2',
        id: 'req-1',
        inputs: [
          { name: 'a', datatype: 'UINT16', shape: [2], data: Uint16Array.from([1, 65535]) },
          { name: 'b', datatype: 'INT8', shape: [1], data: Int8Array.from([-128]) },
          { name: 'c', datatype: 'INT64', shape: [1], data: BigInt64Array.from([-(2n ** 63n)]) },
          { name: 'd', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
          { name: 'e', datatype: 'BYTES', shape: [1], data: [Buffer.from('jpeg')] },
        ],
        outputs: ['y', { name: 'z', parameters: { classification: { int64Param: 3n } } }],
      },
      { contents: 'typed' },
    );
    expect(request).toMatchObject({ modelName: 'm', modelVersion: '2', id: 'req-1', rawInputContents: [] });
    expect(request.inputs.map((i) => [i.name, i.datatype, i.shape])).toEqual([
      ['a', 'UINT16', [2n]],
      ['b', 'INT8', [1n]],
      ['c', 'INT64', [1n]],
      ['d', 'BOOL', [2n]],
      ['e', 'BYTES', [1n]],
    ]);
    expect(request.inputs.map((i) => i.contents)).toEqual([
      expect.objectContaining({ uintContents: [1, 65535], intContents: [] }),
      expect.objectContaining({ intContents: [-128] }),
      expect.objectContaining({ int64Contents: [-(2n ** 63n)] }),
      expect.objectContaining({ boolContents: [true, false] }),
      expect.objectContaining({ bytesContents: [Buffer.from('jpeg')] }),
    ]);
    expect(request.outputs).toEqual([
      { name: 'y', parameters: {} },
      { name: 'z', parameters: { classification: { int64Param: 3n } } },
    ]);
  });

  it('sends raw contents as views of the tensor data, position-matched', () => {
    const a = new Float32Array([1, 2]);
    const request = toModelInferRequest({
      modelName: 'm',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2], data: a },
        { name: 's', datatype: 'BYTES', shape: [1], data: [Buffer.from('hi')] },
      ],
    });
    expect(request.rawInputContents[0]?.buffer).toBe(a.buffer);
    expect(request.rawInputContents[1]?.toString('hex')).toBe('020000006869');
    expect(request.inputs.every((i) => i.contents === undefined)).toBe(true);
  });

  it('refuses FP16/BF16 in typed contents', () => {
    expect(() =>
      toModelInferRequest(
        { modelName: 'm', inputs: [{ name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array(1) }] },
        { contents: 'typed' },
      ),
    ).toThrow(new TypeError('tensor "h": FP16 has no typed contents field in KServe v2; send it raw'));
    expect(() => tensorFromContents('BF16', [1], undefined, 'h')).toThrow(
      new TypeError('tensor "h": BF16 has no typed contents field in KServe v2; it must come raw'),
    );
  });

  it('reports counts, wrong fields and out-of-range values precisely', () => {
    expect(() => decodeKServeTensors([wire('FP32', [2n, 3n], { fp32Contents: [1, 2, 3, 4] })], [])).toThrow(
      new RangeError('tensor "x": shape [2,3] needs 6 FP32 elements (24 bytes), got 4 fp32Contents values'),
    );
    expect(() => decodeKServeTensors([wire('FP32', [2n], { intContents: [1, 2] })], [])).toThrow(
      new RangeError(
        'tensor "x": shape [2] needs 2 FP32 elements (8 bytes), got 0 fp32Contents values (values found in intContents)',
      ),
    );
    expect(() => decodeKServeTensors([wire('INT8', [2n], { intContents: [1, 300] })], [])).toThrow(
      new RangeError('tensor "x": intContents[1] = 300 is out of range for INT8 [-128, 127]'),
    );
    expect(() => decodeKServeTensors([wire('UINT16', [1n], { uintContents: [70000] })], [])).toThrow(RangeError);
    expect(() => decodeKServeTensors([wire('FLOAT', [1n], {})], [])).toThrow(
      /^tensor "x": datatype "FLOAT" is not a KServe v2 datatype/,
    );
    expect(() => decodeKServeTensors([wire('FP32', [-1n], {})], [])).toThrow(
      new RangeError('tensor "x": shape [-1] has dim 0 = -1; dims must be non-negative safe integers'),
    );
  });

  it('checks raw contents against the tensors', () => {
    const x = wire('FP32', [2n], {});
    expect(() => decodeKServeTensors([x, { ...x, name: 'y' }], [Buffer.alloc(8)], 'inputs')).toThrow(
      new RangeError('rawInputContents has 1 entries for 2 inputs; they must match one to one'),
    );
    expect(() => decodeKServeTensors([x], [Buffer.alloc(7)], 'outputs')).toThrow(
      new RangeError('tensor "x": shape [2] needs 2 FP32 elements (8 bytes), got 7 bytes'),
    );
    expect(() =>
      decodeKServeTensors([wire('FP32', [1n], { fp32Contents: [1] })], [Buffer.alloc(4)], 'outputs'),
    ).toThrow(
      new TypeError('tensor "x": has typed contents although rawOutputContents is used; send one or the other'),
    );
  });

  it('needs tensor names', () => {
    expect(() =>
      toModelInferRequest({ modelName: 'm', inputs: [{ datatype: 'FP32', shape: [], data: new Float32Array(1) }] }),
    ).toThrow(new TypeError('a FP32 tensor has no name; KServe tensors need one'));
  });
});
