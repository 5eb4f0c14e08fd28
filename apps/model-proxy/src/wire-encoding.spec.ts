import fc from 'fast-check';
import { bgv1, kserve, tfs } from '@bundlegate/protos';
import { createTensor, toModelInferRequest, toPredictRequest } from '@bundlegate/tensors';
import { serializeModelInferRequest, serializePredictRequest, serializePredictResponse } from './wire-encoding';

// The hand-assembled messages must decode, with the generated decoders, to exactly what the generated encoders make.

describe('single-copy request encoding', () => {
  const floats = fc.float32Array({ minLength: 0, maxLength: 2000, noNaN: true });

  it('encodes ModelInferRequest like the generated encoder', () => {
    fc.assert(
      fc.property(floats, fc.string(), (data, id) => {
        const tensor = createTensor('FP32', [data.length], data, 'input');
        const bytes = createTensor('BYTES', [2], [Uint8Array.of(1, 2, 3), new Uint8Array(0)], 'blob');
        const request = toModelInferRequest({ modelName: 'm', id, inputs: [tensor, bytes], outputs: ['out'] });
        const mine = serializeModelInferRequest(request);
        expect(kserve.ModelInferRequest.decode(mine)).toEqual(kserve.ModelInferRequest.decode(kserve.ModelInferRequest.encode(request).finish()));
        expect(mine.byteLength).toBe(kserve.ModelInferRequest.encode(request).finish().byteLength);
      }),
      { numRuns: 50 },
    );
  });

  it('encodes PredictRequest like the generated encoder', () => {
    fc.assert(
      fc.property(floats, fc.uint8Array({ maxLength: 300 }), (data, blob) => {
        const request = toPredictRequest({
          modelName: 'm',
          inputs: [createTensor('FP32', [1, data.length], data, 'pixels'), createTensor('BYTES', [1], [blob], 'image')],
          outputFilter: ['a', 'b'],
        });
        const mine = serializePredictRequest(request);
        expect(tfs.PredictRequest.decode(mine)).toEqual(tfs.PredictRequest.decode(tfs.PredictRequest.encode(request).finish()));
      }),
      { numRuns: 50 },
    );
  });

  it('encodes PredictResponse like the generated encoder', () => {
    const output = fc.oneof(
      fc.record({ typeId: fc.constant('MaxClassification'), name: fc.option(fc.string(), { nil: undefined }), classification: fc.record({ label: fc.string(), score: fc.float({ noNaN: true }) }) }),
      fc.record({
        typeId: fc.constant('GridEmbedding'),
        embeddingGrid: fc.record({ rows: fc.nat(100), cols: fc.nat(100), channels: fc.nat(1000), data: fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)) }),
      }),
      fc.record({
        typeId: fc.constant('Tensor'),
        name: fc.option(fc.string(), { nil: undefined }),
        tensor: fc.record({ datatype: fc.constantFrom('FP32', 'BYTES'), shape: fc.array(fc.bigInt({ min: 0n, max: 1000n }), { maxLength: 4 }), data: fc.uint8Array({ maxLength: 3000 }).map((b) => Buffer.from(b)) }),
      }),
    );
    fc.assert(
      fc.property(fc.string(), fc.array(output, { maxLength: 4 }), fc.option(fc.double({ noNaN: true }), { nil: undefined }), (modelId, outputs, ms) => {
        const response: bgv1.PredictResponse = { modelId, outputs, timings: ms === undefined ? undefined : { preprocessMs: ms, backendMs: 1, postprocessMs: 0, totalMs: ms } };
        const mine = serializePredictResponse(response);
        const generated = bgv1.PredictResponse.encode(response).finish();
        expect(bgv1.PredictResponse.decode(mine)).toEqual(bgv1.PredictResponse.decode(generated));
        expect(mine.byteLength).toBe(generated.byteLength);
      }),
      { numRuns: 100 },
    );
  });

  it('copies a large tensor once, into the message', () => {
    const data = new Float32Array(3 * 224 * 224).fill(0.5);
    const request = toModelInferRequest({ modelName: 'm', inputs: [createTensor('FP32', [1, 3, 224, 224], data, 'input')] });
    const wire = serializeModelInferRequest(request);
    const decoded = kserve.ModelInferRequest.decode(wire);
    expect(decoded.rawInputContents[0]?.byteLength).toBe(data.byteLength);
    // the raw contents sit inside the message buffer, not in a separate allocation
    expect(wire.byteLength - data.byteLength).toBeLessThan(64);
  });
});
