import { kserve, tfs } from '@bundlegate/protos';
import { NEED_MORE, NO_NAME, sniffModelName } from './model-name-sniffer';

const framed = (message: Uint8Array, compressed = 0): Buffer => {
  const b = Buffer.alloc(5 + message.length);
  b[0] = compressed;
  b.writeUInt32BE(message.length, 1);
  b.set(message, 5);
  return b;
};

const inferRequest = (modelName: string): Buffer =>
  framed(
    kserve.ModelInferRequest.encode({
      modelName,
      modelVersion: '1',
      id: 'req-1',
      parameters: {},
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1n, 3n], parameters: {} }],
      outputs: [],
      rawInputContents: [Buffer.alloc(12, 1)],
    }).finish(),
  );

test('KServe ModelInferRequest: the name from the first bytes, NEED_MORE before them', () => {
  const body = inferRequest('6687ad3b04248f708c1e0c95');
  expect(sniffModelName('kserve', body)).toBe('6687ad3b04248f708c1e0c95');
  for (let n = 0; n < 5 + 2 + 24; n++) expect(sniffModelName('kserve', body.subarray(0, n))).toBe(NEED_MORE);
  expect(sniffModelName('kserve', body.subarray(0, 5 + 2 + 24))).toBe('6687ad3b04248f708c1e0c95');
});

test('TF Serving PredictRequest: model_spec.name', () => {
  const body = framed(
    tfs.PredictRequest.encode(tfs.PredictRequest.fromPartial({ modelSpec: { name: 'photo-fraud', signatureName: 'serving_default' } })).finish(),
  );
  expect(sniffModelName('tfs', body)).toBe('photo-fraud');
});

test('fields in any order: name after a varint and a bytes field', () => {
  // field 3 varint 150, field 7 bytes "xyz", then field 1 "late"
  const message = Buffer.from([0x18, 0x96, 0x01, 0x3a, 3, 0x78, 0x79, 0x7a, 0x0a, 4, 0x6c, 0x61, 0x74, 0x65]);
  expect(sniffModelName('kserve', framed(message))).toBe('late');
});

test('compressed, nameless or too long to find → NO_NAME', () => {
  expect(sniffModelName('kserve', framed(Buffer.from([0x0a, 1, 0x61]), 1))).toBe(NO_NAME);
  expect(sniffModelName('kserve', framed(Buffer.from([0x18, 1])))).toBe(NO_NAME);
  const huge = framed(Buffer.concat([Buffer.from([0x3a, 0x80, 0x80, 0x04]), Buffer.alloc(70_000)]));
  expect(sniffModelName('kserve', huge)).toBe(NO_NAME);
});
