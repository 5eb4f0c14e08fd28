import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import type { kserve } from '@bundlegate/protos';
import { fromModelInferResponse, toModelInferRequest, type Tensor } from '@bundlegate/tensors';
import { ANOMALY, call, CLASSES, CLASSIFIER, clients, demoModelFile, failure, SAMPLES, startTestServer, type TestServer } from '../test/harness';

const jpeg = readFileSync(join(SAMPLES, 'shapes-640x480.jpg'));

function grid(seed: number): Float32Array {
  const data = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7 + seed * 13) % 256) / 255;
  return data;
}

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('KServe gRPC', () => {
  let t: TestServer;
  let c: ReturnType<typeof clients>;
  let direct: { anomaly: ort.InferenceSession; classifier: ort.InferenceSession };

  beforeAll(async () => {
    t = await startTestServer([
      { name: 'anomaly', id: ANOMALY, versions: [1] },
      { name: 'clf', id: CLASSIFIER, versions: [1, 2], config: { model_version_policy: { all: {} } } },
    ]);
    c = clients(t.grpcAddress);
    direct = {
      anomaly: await ort.InferenceSession.create(demoModelFile(ANOMALY)),
      classifier: await ort.InferenceSession.create(demoModelFile(CLASSIFIER)),
    };
  });

  afterAll(async () => {
    c.close();
    await direct.anomaly.release();
    await direct.classifier.release();
    await t.close();
  });

  const infer = (request: kserve.ModelInferRequest): Promise<kserve.ModelInferResponse> => call(c.kserve, c.kserve.modelInfer, request);
  const anomalyRequest = (data: Float32Array, extra: Partial<kserve.ModelInferRequest> = {}): kserve.ModelInferRequest => ({
    ...toModelInferRequest({ modelName: 'anomaly', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], data }] }),
    ...extra,
  });

  it('answers the server-level RPCs', async () => {
    expect(await call(c.kserve, c.kserve.serverLive, {})).toEqual({ live: true });
    expect(await call(c.kserve, c.kserve.serverReady, {})).toEqual({ ready: true });
    const meta = await call(c.kserve, c.kserve.serverMetadata, {});
    expect(meta.name).toBe('onnx-serving');
    expect(meta.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('reports model readiness by model and version', async () => {
    expect(await call(c.kserve, c.kserve.modelReady, { name: 'clf', version: '' })).toEqual({ ready: true });
    expect(await call(c.kserve, c.kserve.modelReady, { name: 'clf', version: '1' })).toEqual({ ready: true });
    const unknownVersion = await failure(call(c.kserve, c.kserve.modelReady, { name: 'clf', version: '9' }));
    expect(unknownVersion).toMatchObject({ code: status.NOT_FOUND, bgCode: 'BG_UNKNOWN_VERSION' });
    const unknownModel = await failure(call(c.kserve, c.kserve.modelReady, { name: 'nope', version: '' }));
    expect(unknownModel).toEqual({ code: status.NOT_FOUND, bgCode: 'BG_UNKNOWN_MODEL', details: 'unknown model "nope"; known models: anomaly, clf' });
  });

  it('describes each model as it declares itself', async () => {
    const anomaly = await call(c.kserve, c.kserve.modelMetadata, { name: 'anomaly', version: '' });
    expect(anomaly).toEqual({
      name: 'anomaly',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1n, 3n, 224n, 224n] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [1n, 14n, 14n, 768n] }],
      properties: {},
    });
    const clf = await call(c.kserve, c.kserve.modelMetadata, { name: 'clf', version: '1' });
    expect(clf.versions).toEqual(['2', '1']);
    expect(clf.outputs.map((o) => `${o.name}:${o.datatype}`)).toEqual(['label:BYTES', 'probability:FP32']);
  });

  it('infers with raw contents exactly as onnxruntime does in process', async () => {
    const data = grid(3);
    const response = await infer(anomalyRequest(data, { id: 'req-7' }));
    expect(response).toMatchObject({ modelName: 'anomaly', modelVersion: '1', id: 'req-7' });
    const [out] = fromModelInferResponse(response);
    expect(out).toMatchObject({ name: 'output', datatype: 'FP32', shape: [1, 14, 14, 768] });
    const expected = (await direct.anomaly.run({ input: new ort.Tensor('float32', data, [1, 3, 224, 224]) })).output as ort.Tensor;
    expect(bytesOf(out?.data as Float32Array).equals(bytesOf(expected.data as Float32Array))).toBe(true);
  });

  it('infers with typed contents and returns only the outputs asked for', async () => {
    const data = new Float32Array(64 * 64 * 3).map((_, i) => i % 256);
    const request = toModelInferRequest(
      { modelName: 'clf', modelVersion: '1', inputs: [{ name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3], data }], outputs: ['probability'] },
      { contents: 'typed' },
    );
    const response = await infer(request);
    expect(response.modelVersion).toBe('1');
    const outputs = fromModelInferResponse(response);
    expect(outputs.map((o) => o.name)).toEqual(['probability']);
    const expected = await direct.classifier.run({ image_input: new ort.Tensor('float32', data, [1, 64, 64, 3]) });
    expect(Array.from(outputs[0]?.data as Float32Array)).toEqual(Array.from((expected.probability as ort.Tensor).data as Float32Array));
  });

  it('decodes a JPEG sent as BYTES for the image input, as OVMS does', async () => {
    const response = await infer(toModelInferRequest({ modelName: 'clf', inputs: [{ name: 'image_input', datatype: 'BYTES', shape: [1], data: [jpeg] }] }));
    const [label, probability] = fromModelInferResponse(response) as [Tensor<'BYTES'>, Tensor<'FP32'>];
    const { data: pixels } = await sharp(jpeg).resize(64, 64, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const expected = await direct.classifier.run({ image_input: new ort.Tensor('float32', Float32Array.from(pixels), [1, 64, 64, 3]) });
    expect(response.modelVersion).toBe('2');
    expect(CLASSES).toContain(Buffer.from(label.data[0] as Uint8Array).toString());
    expect(Buffer.from(label.data[0] as Uint8Array).toString()).toBe((expected.label as ort.Tensor).data[0]);
    expect(probability.data[0]).toBe(((expected.probability as ort.Tensor).data as Float32Array)[0]);
  });

  it('streams: runs each request and answers in request order, errors included', async () => {
    const stream = c.kserve.modelStreamInfer();
    const responses: kserve.ModelStreamInferResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (r: kserve.ModelStreamInferResponse) => responses.push(r));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.write(anomalyRequest(grid(1), { id: 'a' }));
    stream.write({ ...anomalyRequest(grid(2), { id: 'b' }), modelName: 'missing' });
    stream.write(toModelInferRequest({ modelName: 'clf', id: 'c', inputs: [{ name: 'image_input', datatype: 'BYTES', shape: [1], data: [jpeg] }] }));
    stream.end();
    await done;
    expect(responses.map((r) => r.inferResponse?.id)).toEqual(['a', 'b', 'c']);
    expect(responses.map((r) => r.errorMessage)).toEqual(['', 'unknown model "missing"; known models: anomaly, clf', '']);
    expect(fromModelInferResponse(responses[0]?.inferResponse as kserve.ModelInferResponse)[0]?.shape).toEqual([1, 14, 14, 768]);
  });

  it('accepts messages far above gRPC\'s 4 MiB default', async () => {
    // 6 MiB of not-an-image: the size is accepted, the content is refused for what it is
    const big = Buffer.alloc(6 * 1024 * 1024, 7);
    const err = await failure(infer(toModelInferRequest({ modelName: 'clf', inputs: [{ name: 'image_input', datatype: 'BYTES', shape: [1], data: [big] }] })));
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT, bgCode: 'BG_IMAGE_DECODE' });
  });

  describe('refuses bad input with INVALID_ARGUMENT saying what was expected', () => {
    const fp32 = (shape: number[]): Tensor => ({ name: 'input', datatype: 'FP32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const cases: [string, () => kserve.ModelInferRequest, string, string | RegExp][] = [
      ['a wrong shape', () => toModelInferRequest({ modelName: 'anomaly', inputs: [fp32([1, 3, 112, 112])] }), 'BG_INVALID_SHAPE', 'input "input" has shape [1, 3, 112, 112]; expected [1,3,224,224]'],
      ['a wrong datatype', () => toModelInferRequest({ modelName: 'anomaly', inputs: [{ name: 'input', datatype: 'FP64', shape: [1, 3, 224, 224], data: new Float64Array(150528) }] }), 'BG_INVALID_DTYPE', 'input "input" has datatype FP64; expected FP32'],
      [
        'raw contents of the wrong size',
        () => {
          const r = anomalyRequest(grid(0));
          r.rawInputContents = [Buffer.alloc(1000)];
          return r;
        },
        'BG_INVALID_BYTE_SIZE',
        'input "input" has 1000 bytes of data; its shape and datatype need 602112',
      ],
      ['an unknown datatype', () => ({ ...anomalyRequest(grid(0)), inputs: [{ ...anomalyRequest(grid(0)).inputs[0]!, datatype: 'FLOAT32' }] }), 'BG_INVALID_DTYPE', /has datatype FLOAT32; expected a KServe v2 datatype \(BOOL, .*BYTES\)/],
      [
        'typed contents of the wrong length',
        () => {
          const r = toModelInferRequest({ modelName: 'clf', inputs: [{ name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3], data: new Float32Array(12288) }] }, { contents: 'typed' });
          r.inputs[0]!.contents!.fp32Contents = [1, 2, 3];
          return r;
        },
        'BG_INVALID_ARGUMENT',
        'shape [1,64,64,3] needs 12288 FP32 elements (49152 bytes), got 3 fp32Contents values',
      ],
      ['a missing input', () => ({ ...anomalyRequest(grid(0)), inputs: [], rawInputContents: [] }), 'BG_MISSING_INPUT', 'missing input "input"; expected FP32 [1,3,224,224]'],
      ['an unexpected input', () => toModelInferRequest({ modelName: 'anomaly', inputs: [fp32([1, 3, 224, 224]), { ...fp32([1]), name: 'extra' }] }), 'BG_UNEXPECTED_INPUT', 'unexpected input "extra"; expected inputs "input"'],
      ['raw contents not matching the inputs', () => ({ ...anomalyRequest(grid(0)), rawInputContents: [] }), 'BG_INVALID_ARGUMENT', /fp32Contents|fp32_contents/],
      ['an unknown requested output', () => ({ ...anomalyRequest(grid(0)), outputs: [{ name: 'heatmap', parameters: {} }] }), 'BG_INVALID_ARGUMENT', 'invalid outputs: expected outputs of anomaly: output, got "heatmap"'],
      ['bytes that are no image', () => toModelInferRequest({ modelName: 'clf', inputs: [{ name: 'image_input', datatype: 'BYTES', shape: [1], data: [Buffer.from('GIF89a nonsense')] }] }), 'BG_IMAGE_DECODE', 'input "image_input" is not a decodable image'],
    ];
    it.each(cases)('%s', async (_what, request, bgCode, message) => {
      const err = await failure(infer(request()));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.bgCode).toBe(bgCode);
      if (typeof message === 'string') expect(err.details).toContain(message);
      else expect(err.details).toMatch(message);
    });

    it('and keeps serving afterwards', async () => {
      await expect(infer(anomalyRequest(grid(5)))).resolves.toMatchObject({ modelName: 'anomaly' });
    });
  });

  it('answers NOT_FOUND for unknown models and versions', async () => {
    expect(await failure(infer({ ...anomalyRequest(grid(0)), modelName: 'nope' }))).toMatchObject({ code: status.NOT_FOUND, bgCode: 'BG_UNKNOWN_MODEL' });
    const version = await failure(infer({ ...anomalyRequest(grid(0)), modelVersion: '4' }));
    expect(version).toEqual({ code: status.NOT_FOUND, bgCode: 'BG_UNKNOWN_VERSION', details: 'model "anomaly" has no version "4"; available: 1' });
    expect(await failure(infer({ ...anomalyRequest(grid(0)), modelVersion: 'latest' }))).toMatchObject({ code: status.NOT_FOUND, bgCode: 'BG_UNKNOWN_VERSION' });
  });
});
