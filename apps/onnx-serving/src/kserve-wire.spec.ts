import { kserve } from '@bundlegate/protos';
import { toModelInferRequest, toModelInferResponse } from '@bundlegate/tensors';
import { decodeModelInferRequest, encodeModelInferResponse, encodeModelStreamInferResponse } from './kserve-wire';

const request = (): kserve.ModelInferRequest =>
  toModelInferRequest({
    modelName: 'm',
    modelVersion: '3',
    id: 'abc',
    parameters: { priority: { int64Param: 2n } },
    inputs: [
      { name: 'a', datatype: 'FP32', shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'b', datatype: 'BYTES', shape: [2], data: [Buffer.from('x'), Buffer.from('yz')] },
    ],
    outputs: ['out'],
  });

describe('decodeModelInferRequest', () => {
  it('decodes what the generated decoder decodes', () => {
    const bytes = Buffer.from(kserve.ModelInferRequest.encode(request()).finish());
    expect(decodeModelInferRequest(bytes)).toEqual(kserve.ModelInferRequest.decode(bytes));
  });

  it('returns raw contents as views into the message, not copies', () => {
    const bytes = Buffer.from(kserve.ModelInferRequest.encode(request()).finish());
    const decoded = decodeModelInferRequest(bytes);
    expect(decoded.rawInputContents).toHaveLength(2);
    for (const raw of decoded.rawInputContents) expect(raw.buffer).toBe(bytes.buffer);
    bytes[bytes.indexOf(Buffer.from('yz'))] = 'Y'.charCodeAt(0);
    expect(decoded.rawInputContents[1]?.subarray(-2).toString()).toBe('Yz');
  });

  it('handles raw contents interleaved with other fields', () => {
    const r = request();
    // raw_input_contents (7) first, then the other fields: a valid encoding the generated encoder never writes
    const raw = Buffer.from(kserve.ModelInferRequest.encode({ ...kserve.ModelInferRequest.fromPartial({}), rawInputContents: r.rawInputContents }).finish());
    const rest = Buffer.from(kserve.ModelInferRequest.encode({ ...r, rawInputContents: [] }).finish());
    const half = rest.indexOf(Buffer.from('abc')) + 3;
    const bytes = Buffer.concat([rest.subarray(0, half), raw, rest.subarray(half)]);
    expect(decodeModelInferRequest(bytes)).toEqual(kserve.ModelInferRequest.decode(bytes));
  });

  it('throws on a truncated message', () => {
    const bytes = Buffer.from(kserve.ModelInferRequest.encode(request()).finish());
    expect(() => decodeModelInferRequest(bytes.subarray(0, bytes.length - 3))).toThrow();
  });
});

describe('encodeModelInferResponse', () => {
  const response = toModelInferResponse({
    modelName: 'm',
    modelVersion: '1',
    id: 'r',
    outputs: [
      { name: 'o', datatype: 'FP32', shape: [3], data: new Float32Array([0.5, 1.5, 2.5]) },
      { name: 'label', datatype: 'BYTES', shape: [1], data: [Buffer.from('tampered')] },
    ],
  });

  it('writes what the generated encoder writes', () => {
    expect(encodeModelInferResponse(response).equals(Buffer.from(kserve.ModelInferResponse.encode(response).finish()))).toBe(true);
  });

  it('writes stream responses the generated decoder reads back', () => {
    const ok = encodeModelStreamInferResponse({ errorMessage: '', inferResponse: response });
    expect(kserve.ModelStreamInferResponse.decode(ok)).toEqual(kserve.ModelStreamInferResponse.decode(kserve.ModelStreamInferResponse.encode({ errorMessage: '', inferResponse: response }).finish()));
    const failed = encodeModelStreamInferResponse({ errorMessage: 'bad', inferResponse: undefined });
    expect(kserve.ModelStreamInferResponse.decode(failed)).toEqual({ errorMessage: 'bad', inferResponse: undefined });
  });
});
