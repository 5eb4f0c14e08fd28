import { tf, tfs } from '@bundlegate/protos';
import fc from 'fast-check';
import { arbTensor, arbTensors, expectSameTensor } from '../test/arbitraries';
import {
  fromPredictRequest,
  fromPredictResponse,
  tensorFromTensorProto,
  tensorToTensorProto,
  toPredictRequest,
  toPredictResponse,
} from './codec-tfs';
import type { AnyTensor } from './tensor';

function overTheWire(proto: tf.TensorProto): tf.TensorProto {
  return tf.TensorProto.decode(tf.TensorProto.encode(proto).finish());
}

function proto(fields: Partial<tf.TensorProto>, dims?: number[]): tf.TensorProto {
  const shape =
    dims === undefined
      ? {}
      : { tensorShape: { dim: dims.map((size) => ({ size: BigInt(size), name: '' })), unknownRank: false } };
  return tf.TensorProto.fromPartial({ ...fields, ...shape } as Parameters<typeof tf.TensorProto.fromPartial>[0]);
}

describe('TF Serving TensorProto codec', () => {
  it.each(['raw', 'typed'] as const)('round-trips every datatype through %s TensorProto bytes', (contents) => {
    fc.assert(
      fc.property(arbTensor, (t) => {
        const decoded = tensorFromTensorProto(overTheWire(tensorToTensorProto(t, contents)), t.name);
        expectSameTensor(decoded, t);
      }),
      { numRuns: 200 },
    );
  });

  it('round-trips named tensors through PredictRequest and PredictResponse bytes', () => {
    fc.assert(
      fc.property(arbTensors, fc.constantFrom('raw' as const, 'typed' as const), (tensors, contents) => {
        const request = toPredictRequest(
          { modelName: 'm', signatureName: 'serving_default', inputs: tensors },
          contents,
        );
        const inputs = fromPredictRequest(tfs.PredictRequest.decode(tfs.PredictRequest.encode(request).finish()));
        const response = toPredictResponse(tensors, request.modelSpec, contents);
        const outputs = fromPredictResponse(tfs.PredictResponse.decode(tfs.PredictResponse.encode(response).finish()));
        for (const decoded of [inputs, outputs]) {
          const byName = new Map(decoded.map((t) => [t.name, t]));
          expect(byName.size).toBe(tensors.length);
          for (const t of tensors) expectSameTensor(byName.get(t.name) as AnyTensor, t);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('uses the TF field and dtype of each datatype', () => {
    const half = tensorToTensorProto(
      { datatype: 'FP16', shape: [2], data: Uint16Array.from([0x3c00, 0xfc00]) },
      'typed',
    );
    expect([half.dtype, half.halfVal]).toEqual([tf.DataType.DT_HALF, [0x3c00, 0xfc00]]);
    const bf = tensorToTensorProto({ datatype: 'BF16', shape: [1], data: Uint16Array.from([0x3f80]) }, 'typed');
    expect([bf.dtype, bf.halfVal]).toEqual([tf.DataType.DT_BFLOAT16, [0x3f80]]);
    const u8 = tensorToTensorProto({ datatype: 'UINT8', shape: [2], data: Uint8Array.from([0, 255]) }, 'typed');
    expect([u8.dtype, u8.intVal]).toEqual([tf.DataType.DT_UINT8, [0, 255]]);
    const u32 = tensorToTensorProto({ datatype: 'UINT32', shape: [1], data: Uint32Array.from([0xffffffff]) }, 'typed');
    expect([u32.dtype, u32.uint32Val]).toEqual([tf.DataType.DT_UINT32, [0xffffffff]]);
    const raw = tensorToTensorProto({ datatype: 'FP32', shape: [1, 2], data: Float32Array.from([1, -2]) });
    expect(raw.dtype).toBe(tf.DataType.DT_FLOAT);
    expect(raw.tensorShape?.dim.map((d) => d.size)).toEqual([1n, 2n]);
    expect(raw.tensorContent.toString('hex')).toBe('0000803f000000c0');
    expect(raw.floatVal).toEqual([]);
    // encoded images travel as DT_STRING string_val even when raw is asked for
    const s = tensorToTensorProto({ datatype: 'BYTES', shape: [1], data: [Buffer.from([0xff, 0xd8])] });
    expect([s.dtype, s.stringVal, s.tensorContent.byteLength]).toEqual([
      tf.DataType.DT_STRING,
      [Buffer.from([0xff, 0xd8])],
      0,
    ]);
  });

  it('broadcasts a single *_val value to the whole shape, as TF does', () => {
    const t = tensorFromTensorProto(proto({ dtype: tf.DataType.DT_FLOAT, floatVal: [0.5] }, [2, 3]), 'x');
    expect([t.shape, Array.from(t.data as Float32Array)]).toEqual([
      [2, 3],
      [0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
    ]);
    const s = tensorFromTensorProto(proto({ dtype: tf.DataType.DT_STRING, stringVal: [Buffer.from('a')] }, [3]));
    expect((s.data as Uint8Array[]).map((b) => Buffer.from(b).toString())).toEqual(['a', 'a', 'a']);
    const i64 = tensorFromTensorProto(proto({ dtype: tf.DataType.DT_INT64, int64Val: [-5n] }, [2]));
    expect(Array.from(i64.data as BigInt64Array)).toEqual([-5n, -5n]);
  });

  it('reads a missing shape as a scalar and an empty tensor with no values', () => {
    const scalar = tensorFromTensorProto(proto({ dtype: tf.DataType.DT_DOUBLE, doubleVal: [2.5] }));
    expect([scalar.shape, Array.from(scalar.data as Float64Array)]).toEqual([[], [2.5]]);
    const empty = tensorFromTensorProto(proto({ dtype: tf.DataType.DT_INT32 }, [0, 4]));
    expect([empty.shape, empty.data.length]).toEqual([[0, 4], 0]);
  });

  it('maps _REF dtypes to their base type', () => {
    const t = tensorFromTensorProto(proto({ dtype: tf.DataType.DT_INT32_REF, intVal: [7] }, [1]));
    expect([t.datatype, Array.from(t.data as Int32Array)]).toEqual(['INT32', [7]]);
  });

  it('reports counts, ranges and unsupported protos precisely', () => {
    expect(() => tensorFromTensorProto(proto({ dtype: tf.DataType.DT_FLOAT, floatVal: [1, 2] }, [3]), 'x')).toThrow(
      new RangeError(
        'tensor "x": shape [3] needs 3 FP32 elements (12 bytes), got 2 floatVal values; send 3 or 1 to broadcast',
      ),
    );
    expect(() => tensorFromTensorProto(proto({ dtype: tf.DataType.DT_FLOAT, doubleVal: [1, 2] }, [2]), 'x')).toThrow(
      new RangeError(
        'tensor "x": shape [2] needs 2 FP32 elements (8 bytes), got 0 floatVal values (values found in doubleVal); send 2 or 1 to broadcast',
      ),
    );
    expect(() =>
      tensorFromTensorProto(proto({ dtype: tf.DataType.DT_FLOAT, tensorContent: Buffer.alloc(10) }, [3]), 'x'),
    ).toThrow(new RangeError('tensor "x": shape [3] needs 3 FP32 elements (12 bytes), got 10 bytes'));
    expect(() => tensorFromTensorProto(proto({ dtype: tf.DataType.DT_INT8, intVal: [200] }, [1]), 'x')).toThrow(
      new RangeError('tensor "x": intVal[0] = 200 is out of range for INT8 [-128, 127]'),
    );
    expect(() => tensorFromTensorProto(proto({ dtype: tf.DataType.DT_HALF, halfVal: [70000] }, [1]), 'x')).toThrow(
      new RangeError('tensor "x": halfVal[0] = 70000 is out of range for UINT16 [0, 65535]'),
    );
    expect(() => tensorFromTensorProto(proto({ dtype: tf.DataType.DT_COMPLEX64 }, [1]))).toThrow(
      /^TensorFlow DataType 8 has no KServe v2 equivalent/,
    );
    expect(() =>
      tensorFromTensorProto(proto({ dtype: tf.DataType.DT_FLOAT, tensorShape: { dim: [], unknownRank: true } }), 'x'),
    ).toThrow(new TypeError('tensor "x": tensor_shape has unknown_rank; a value needs a known shape'));
    expect(() => tensorFromTensorProto(proto({ dtype: tf.DataType.DT_FLOAT, floatVal: [1] }, [-1]), 'x')).toThrow(
      new RangeError('tensor "x": shape [-1] has dim 0 = -1; dims must be non-negative safe integers'),
    );
  });

  it('keys a PredictRequest by tensor name and carries the model spec', () => {
    const request = toPredictRequest({
      modelName: '6684168e04248f708c1e0c93',
      version: 3,
      inputs: [{ name: 'image_input', datatype: 'BYTES', shape: [1], data: [Buffer.from('jpeg')] }],
      outputFilter: ['label'],
    });
    expect(request.modelSpec).toEqual({
      name: '6684168e04248f708c1e0c93',
      version: 3n,
      versionLabel: undefined,
      signatureName: '',
    });
    expect(Object.keys(request.inputs)).toEqual(['image_input']);
    expect(request.outputFilter).toEqual(['label']);
    const dup = { name: 'a', datatype: 'FP32', shape: [], data: new Float32Array(1) } as const;
    expect(() => toPredictRequest({ modelName: 'm', inputs: [dup, dup] })).toThrow(
      new TypeError('tensor name "a" is used twice'),
    );
  });
});
