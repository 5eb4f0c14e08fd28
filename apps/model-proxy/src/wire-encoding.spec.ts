import fc from 'fast-check';
import { kserve, tfs } from '@bundlegate/protos';
import { createTensor, toModelInferRequest, toPredictRequest } from '@bundlegate/tensors';
import { serializeModelInferRequest, serializePredictRequest } from './wire-encoding';

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
