// Wire compatibility with real servers: messages are checked against protobuf bytes assembled by
// hand from the upstream field numbers (tag = field << 3 | wire type; 2 = length-delimited).
import { bgv1, google, health, kserve, tf, tfs } from './index';

/** Concatenates byte values and UTF-8 strings. */
function bytes(...parts: Array<number | string | Buffer>): Buffer {
  return Buffer.concat(
    parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : typeof p === 'string' ? Buffer.from(p, 'utf8') : p)),
  );
}

/** A length-delimited field: tag byte, one-byte length (all test payloads are < 128 bytes), payload. */
function ld(tag: number, ...payload: Array<number | string | Buffer>): Buffer {
  const body = bytes(...payload);
  if (body.length > 127) throw new RangeError(`payload of ${body.length} bytes needs a multi-byte length`);
  return bytes(tag, body.length, body);
}

// float32 1.5 and -2.0, little-endian: the raw tensor layout KServe and TF share.
const fp32Pair = bytes(0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0);

describe('KServe v2 ModelInferRequest', () => {
  const wire = bytes(
    ld(0x0a, 'm1'), // model_name = 1
    ld(0x22, ld(0x0a, 'priority'), ld(0x12, 0x10, 0x05)), // parameters = 4: {"priority": {int64_param = 2: 5}}
    ld(
      0x2a, // inputs = 5
      ld(0x0a, 'x'), // name = 1
      ld(0x12, 'FP32'), // datatype = 2
      ld(0x1a, 0x01, 0x02), // shape = 3, packed [1, 2]
    ),
    ld(0x3a, fp32Pair), // raw_input_contents = 7
  );

  it('decodes every field from hand-assembled bytes', () => {
    const req = kserve.ModelInferRequest.decode(wire);
    expect(req.modelName).toBe('m1');
    expect(req.modelVersion).toBe('');
    expect(req.id).toBe('');
    expect(req.parameters).toEqual({ priority: { int64Param: 5n } });
    expect(req.inputs).toHaveLength(1);
    const input = req.inputs[0];
    expect(input?.name).toBe('x');
    expect(input?.datatype).toBe('FP32');
    expect(input?.shape).toEqual([1n, 2n]);
    expect(input?.contents).toBeUndefined();
    expect(req.outputs).toEqual([]);
    expect(req.rawInputContents).toHaveLength(1);
    const raw = req.rawInputContents[0];
    expect(raw).toBeInstanceOf(Buffer);
    expect(raw?.equals(fp32Pair)).toBe(true);
    expect(raw?.readFloatLE(0)).toBe(1.5);
    expect(raw?.readFloatLE(4)).toBe(-2);
  });

  it('encodes to exactly the same bytes', () => {
    const msg = kserve.ModelInferRequest.fromPartial({
      modelName: 'm1',
      parameters: { priority: { int64Param: 5n } },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, 2n] }],
      rawInputContents: [fp32Pair],
    });
    expect(Buffer.from(kserve.ModelInferRequest.encode(msg).finish()).toString('hex')).toBe(wire.toString('hex'));
  });

  it('accepts an unpacked shape, as older encoders write it', () => {
    const unpacked = bytes(ld(0x2a, ld(0x0a, 'x'), 0x18, 0x01, 0x18, 0x02)); // shape = 3 as two varint fields
    expect(kserve.ModelInferRequest.decode(unpacked).inputs[0]?.shape).toEqual([1n, 2n]);
  });

  it('round-trips typed contents and every InferParameter kind', () => {
    const msg = kserve.ModelInferResponse.fromPartial({
      outputs: [{ name: 'y', datatype: 'FP32', shape: [2n], contents: { fp32Contents: [1.5, -2] } }],
      parameters: {
        b: { boolParam: true },
        s: { stringParam: 'v' },
        d: { doubleParam: 0.5 },
        u: { uint64Param: 18446744073709551615n },
      },
    });
    const back = kserve.ModelInferResponse.decode(kserve.ModelInferResponse.encode(msg).finish());
    expect(back.outputs[0]?.contents?.fp32Contents).toEqual([1.5, -2]);
    expect(back.parameters).toEqual(msg.parameters);
  });
});

describe('KServe ModelStreamInferResponse', () => {
  const okWire = bytes(
    ld(
      0x12, // infer_response = 2
      ld(0x0a, 'm1'), // model_name = 1
      ld(0x2a, ld(0x0a, 'y'), ld(0x12, 'FP32'), ld(0x1a, 0x02)), // outputs = 5: {name, datatype, shape [2]}
      ld(0x32, fp32Pair), // raw_output_contents = 6
    ),
  );
  const errWire = ld(0x0a, 'model m2 is not ready'); // error_message = 1

  it('decodes a result and an error from hand-assembled bytes', () => {
    const ok = kserve.ModelStreamInferResponse.decode(okWire);
    expect(ok.errorMessage).toBe('');
    expect(ok.inferResponse?.modelName).toBe('m1');
    expect(ok.inferResponse?.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([['y', 'FP32', [2n]]]);
    expect(ok.inferResponse?.rawOutputContents[0]?.equals(fp32Pair)).toBe(true);

    const err = kserve.ModelStreamInferResponse.decode(errWire);
    expect(err.errorMessage).toBe('model m2 is not ready');
    expect(err.inferResponse).toBeUndefined();
  });

  it('encodes to exactly the same bytes', () => {
    const ok = kserve.ModelStreamInferResponse.fromPartial({
      inferResponse: { modelName: 'm1', outputs: [{ name: 'y', datatype: 'FP32', shape: [2n] }], rawOutputContents: [fp32Pair] },
    });
    expect(Buffer.from(kserve.ModelStreamInferResponse.encode(ok).finish()).toString('hex')).toBe(okWire.toString('hex'));
    const err = kserve.ModelStreamInferResponse.fromPartial({ errorMessage: 'model m2 is not ready' });
    expect(Buffer.from(kserve.ModelStreamInferResponse.encode(err).finish()).toString('hex')).toBe(errWire.toString('hex'));
  });
});

describe('TF Serving PredictRequest', () => {
  const jpegHead = bytes(0xff, 0xd8, 0xff, 0xe0);
  const wire = bytes(
    ld(
      0x0a, // model_spec = 1
      ld(0x0a, 'resnet'), // name = 1
      ld(0x12, 0x08, 0x03), // version = 2: Int64Value{value = 1: 3}
      ld(0x1a, 'serving_default'), // signature_name = 3
    ),
    ld(
      0x12, // inputs = 2, map entry
      ld(0x0a, 'x'), // key
      ld(
        0x12, // value: TensorProto
        0x08, 0x01, // dtype = 1: DT_FLOAT
        ld(0x12, ld(0x12, 0x08, 0x01), ld(0x12, 0x08, 0x02)), // tensor_shape = 2: dim = 2 [{size 1}, {size 2}]
        ld(0x22, fp32Pair), // tensor_content = 4
      ),
    ),
    ld(
      0x12, // inputs = 2, second map entry
      ld(0x0a, 'image_input'),
      ld(0x12, 0x08, 0x07, ld(0x12, ld(0x12, 0x08, 0x01)), ld(0x42, jpegHead)), // DT_STRING, shape [1], string_val = 8
    ),
    ld(0x1a, 'probability'), // output_filter = 3
  );

  it('decodes every field from hand-assembled bytes', () => {
    const req = tfs.PredictRequest.decode(wire);
    expect(req.modelSpec).toEqual({ name: 'resnet', version: 3n, versionLabel: undefined, signatureName: 'serving_default' });
    expect(Object.keys(req.inputs)).toEqual(['x', 'image_input']);
    const x = req.inputs['x'];
    expect(x?.dtype).toBe(tf.DataType.DT_FLOAT);
    expect(x?.tensorShape?.dim.map((d) => d.size)).toEqual([1n, 2n]);
    expect(x?.tensorShape?.unknownRank).toBe(false);
    expect(x?.tensorContent.equals(fp32Pair)).toBe(true);
    expect(x?.floatVal).toEqual([]);
    const image = req.inputs['image_input'];
    expect(image?.dtype).toBe(tf.DataType.DT_STRING);
    expect(image?.stringVal.map((b) => b.toString('hex'))).toEqual(['ffd8ffe0']);
    expect(req.outputFilter).toEqual(['probability']);
  });

  it('encodes to exactly the same bytes', () => {
    const msg = tfs.PredictRequest.fromPartial({
      modelSpec: { name: 'resnet', version: 3n, signatureName: 'serving_default' },
      inputs: {
        x: { dtype: tf.DataType.DT_FLOAT, tensorShape: { dim: [{ size: 1n }, { size: 2n }] }, tensorContent: fp32Pair },
        image_input: { dtype: tf.DataType.DT_STRING, tensorShape: { dim: [{ size: 1n }] }, stringVal: [jpegHead] },
      },
      outputFilter: ['probability'],
    });
    expect(Buffer.from(tfs.PredictRequest.encode(msg).finish()).toString('hex')).toBe(wire.toString('hex'));
  });

  it('encodes a version label in field 4 of the version oneof', () => {
    const spec = tfs.ModelSpec.encode(tfs.ModelSpec.fromPartial({ name: 'r', versionLabel: 'stable' })).finish();
    expect(Buffer.from(spec).toString('hex')).toBe(bytes(ld(0x0a, 'r'), ld(0x22, 'stable')).toString('hex'));
  });

  it('numbers DataType exactly as TensorFlow does, _REF types included', () => {
    expect(tf.DataType.DT_FLOAT).toBe(1);
    expect(tf.DataType.DT_STRING).toBe(7);
    expect(tf.DataType.DT_HALF).toBe(19);
    expect(tf.DataType.DT_UINT64).toBe(23);
    expect(tf.DataType.DT_UINT4).toBe(30);
    expect(tf.DataType.DT_FLOAT_REF).toBe(101);
    expect(tf.DataType.DT_UINT4_REF).toBe(130);
  });
});

describe('TF Serving GetModelMetadata', () => {
  it('unpacks signature_def from google.protobuf.Any', () => {
    const sigMap = tfs.SignatureDefMap.fromPartial({
      signatureDef: {
        serving_default: {
          methodName: 'tensorflow/serving/predict',
          inputs: { x: { name: 'serving_default_x:0', dtype: tf.DataType.DT_FLOAT, tensorShape: { dim: [{ size: -1n }] } } },
        },
      },
    });
    const res = tfs.GetModelMetadataResponse.fromPartial({
      modelSpec: { name: 'resnet', version: 3n },
      metadata: {
        signature_def: {
          typeUrl: 'type.googleapis.com/tensorflow.serving.SignatureDefMap',
          value: Buffer.from(tfs.SignatureDefMap.encode(sigMap).finish()),
        },
      },
    });
    const back = tfs.GetModelMetadataResponse.decode(tfs.GetModelMetadataResponse.encode(res).finish());
    const any: google.Any | undefined = back.metadata['signature_def'];
    expect(any?.typeUrl).toBe('type.googleapis.com/tensorflow.serving.SignatureDefMap');
    const sig = tfs.SignatureDefMap.decode(any?.value ?? Buffer.alloc(0)).signatureDef['serving_default'];
    expect(sig?.methodName).toBe('tensorflow/serving/predict');
    expect(sig?.inputs['x']?.tensorShape?.dim[0]?.size).toBe(-1n);
  });
});

describe('grpc.health.v1', () => {
  it('CheckResponse matches hand-assembled bytes', () => {
    const serving = bytes(0x08, 0x01); // status = 1: SERVING
    expect(health.HealthCheckResponse.decode(serving).status).toBe(health.HealthCheckResponse_ServingStatus.SERVING);
    expect(
      Buffer.from(
        health.HealthCheckResponse.encode({ status: health.HealthCheckResponse_ServingStatus.NOT_SERVING }).finish(),
      ).toString('hex'),
    ).toBe('0802');
    // proto3 leaves the zero value off the wire: an empty message is UNKNOWN.
    expect(health.HealthCheckResponse.decode(Buffer.alloc(0)).status).toBe(health.HealthCheckResponse_ServingStatus.UNKNOWN);
    expect(health.HealthCheckResponse_ServingStatus.SERVICE_UNKNOWN).toBe(3);
  });

  it('CheckRequest carries the service name in field 1', () => {
    const wire = ld(0x0a, 'inference.GRPCInferenceService');
    expect(health.HealthCheckRequest.decode(wire).service).toBe('inference.GRPCInferenceService');
    expect(Buffer.from(health.HealthCheckRequest.encode({ service: 'inference.GRPCInferenceService' }).finish()).equals(wire)).toBe(
      true,
    );
  });
});

describe('bundlegate.v1', () => {
  it('round-trips friendly inputs and outputs through the oneofs', () => {
    const req = bgv1.PredictRequest.fromPartial({
      modelId: '6687ad3b04248f708c1e0c95',
      inputs: {
        input: { image: bytes(0xff, 0xd8) },
        corners: { quad: { points: [{ x: 0, y: 0 }, { x: 1, y: 0 }, { x: 1, y: 1 }, { x: 0, y: 1 }] } },
        threshold: { scalar: 0.25 },
      },
    });
    const back = bgv1.PredictRequest.decode(bgv1.PredictRequest.encode(req).finish());
    expect(back.inputs['input']?.image?.toString('hex')).toBe('ffd8');
    expect(back.inputs['input']?.scalar).toBeUndefined();
    expect(back.inputs['corners']?.quad?.points).toHaveLength(4);
    expect(back.inputs['threshold']?.scalar).toBe(0.25);

    const grid = Buffer.from(new Float32Array([0.5, -1, 2, 3]).buffer);
    const res = bgv1.PredictResponse.fromPartial({
      modelId: 'm',
      outputs: [
        { typeId: 'MaxClassification', classification: { label: 'cat', score: 0.75 } },
        { typeId: 'GridEmbedding', name: 'patches', embeddingGrid: { rows: 1, cols: 2, channels: 2, data: grid } },
      ],
      timings: { backendMs: 1.5 },
    });
    const out = bgv1.PredictResponse.decode(bgv1.PredictResponse.encode(res).finish());
    expect(out.outputs[0]).toMatchObject({ typeId: 'MaxClassification', classification: { label: 'cat', score: 0.75 } });
    expect(out.outputs[0]?.name).toBeUndefined();
    expect(out.outputs[1]?.name).toBe('patches');
    expect(out.outputs[1]?.embeddingGrid?.data.readFloatLE(4)).toBe(-1);
    expect(out.timings?.backendMs).toBe(1.5);
  });

  it('carries signature params as a Struct that mirrors the YAML', () => {
    const params = { imageInputKey: 'input', decodeJpeg: { channelFirstRaster: true, resize: { height: 224, width: 224 } } };
    const cfg = bgv1.GetConfigResponse.fromPartial({
      bundles: [
        {
          name: 'visual-anomaly',
          backendInferenceEngine: 'triton',
          models: [{ id: 'm', backendInferenceEngine: 'triton', ready: true, inputs: [{ typeId: 'Image', key: 'input', params }] }],
        },
      ],
    });
    const back = bgv1.GetConfigResponse.decode(bgv1.GetConfigResponse.encode(cfg).finish());
    expect(back.bundles[0]?.models[0]?.inputs[0]?.params).toEqual(params);
    expect(back.bundles[0]?.models[0]?.ready).toBe(true);
  });
});

describe('decoded bytes fields', () => {
  it('share memory with the received message instead of copying it', () => {
    const payload = Buffer.alloc(4096, 7);
    const wire = Buffer.from(
      kserve.ModelInferRequest.encode({
        modelName: 'm',
        modelVersion: '',
        id: '',
        parameters: {},
        inputs: [],
        outputs: [],
        rawInputContents: [payload],
      }).finish(),
    );
    const decoded = kserve.ModelInferRequest.decode(wire);
    const raw = decoded.rawInputContents[0]!;
    expect(raw.equals(payload)).toBe(true);
    expect(raw.buffer).toBe(wire.buffer);
    wire[wire.length - 1] = 9; // a view sees writes to the message it came from
    expect(raw[raw.length - 1]).toBe(9);
  });
});
