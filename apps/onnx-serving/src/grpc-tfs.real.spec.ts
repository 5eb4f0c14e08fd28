import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, status, type Client, type ClientDuplexStream } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { health, tf, tfs } from '@bundlegate/protos';
import { fromPredictResponse, toPredictRequest, type Tensor } from '@bundlegate/tensors';
import { ANOMALY, call, CLASSES, CLASSIFIER, clients, failure, REPO_ROOT, SAMPLES, startTestServer, type TestServer } from '../test/harness';

const jpeg = readFileSync(join(SAMPLES, 'night-320x240.jpg'));

describe('TF Serving gRPC, health and reflection', () => {
  let t: TestServer;
  let c: ReturnType<typeof clients>;

  beforeAll(async () => {
    t = await startTestServer([
      { name: 'anomaly', id: ANOMALY, versions: [1] },
      { name: 'clf', id: CLASSIFIER, versions: [1, 3], config: { model_version_policy: { all: {} } } },
    ]);
    c = clients(t.grpcAddress);
  });

  afterAll(async () => {
    c.close();
    await t.close();
  });

  const predict = (request: tfs.PredictRequest): Promise<tfs.PredictResponse> => call(c.prediction, c.prediction.predict, request);

  it('Predict takes the encoded image as DT_STRING, as the model proxy sends it', async () => {
    const response = await predict(toPredictRequest({ modelName: 'clf', inputs: [{ name: 'image_input', datatype: 'BYTES', shape: [1], data: [jpeg] }] }));
    expect(response.modelSpec).toEqual({ name: 'clf', version: 3n, versionLabel: undefined, signatureName: 'serving_default' });
    const outputs = fromPredictResponse(response);
    const label = outputs.find((o) => o.name === 'label') as Tensor<'BYTES'>;
    const probability = outputs.find((o) => o.name === 'probability') as Tensor<'FP32'>;
    expect(CLASSES).toContain(Buffer.from(label.data[0] as Uint8Array).toString());
    expect(probability.data[0]).toBeGreaterThanOrEqual(0.5);
    expect(probability.data[0]).toBeLessThanOrEqual(1);
  });

  it('Predict takes tensor_content, a version and an output filter', async () => {
    const data = new Float32Array(3 * 224 * 224).fill(0.5);
    const response = await predict(
      toPredictRequest({ modelName: 'anomaly', version: 1, inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], data }], outputFilter: ['output'] }),
    );
    const [out] = fromPredictResponse(response);
    expect(out).toMatchObject({ name: 'output', datatype: 'FP32', shape: [1, 14, 14, 768] });
    expect(response.outputs.output?.tensorContent.byteLength).toBe(14 * 14 * 768 * 4);
  });

  it('Predict refuses bad input with INVALID_ARGUMENT and unknown models with NOT_FOUND', async () => {
    const wrongShape = await failure(predict(toPredictRequest({ modelName: 'anomaly', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 224, 224, 3], data: new Float32Array(150528) }] })));
    expect(wrongShape).toEqual({ code: status.INVALID_ARGUMENT, bgCode: 'BG_INVALID_SHAPE', details: 'input "input" has shape [1, 224, 224, 3]; expected [1,3,224,224]' });
    const request = toPredictRequest({ modelName: 'anomaly', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], data: new Float32Array(150528) }] });
    request.inputs.input!.tensorContent = Buffer.alloc(12);
    expect(await failure(predict(request))).toMatchObject({ code: status.INVALID_ARGUMENT, bgCode: 'BG_INVALID_BYTE_SIZE' });
    const label = await failure(predict({ ...request, modelSpec: { name: 'anomaly', versionLabel: 'stable', signatureName: '' } }));
    expect(label).toMatchObject({ code: status.INVALID_ARGUMENT, bgCode: 'BG_INVALID_ARGUMENT' });
    expect(await failure(predict({ ...request, modelSpec: { name: 'ghost', signatureName: '' } }))).toMatchObject({ code: status.NOT_FOUND, bgCode: 'BG_UNKNOWN_MODEL' });
  });

  it('GetModelMetadata returns the serving_default SignatureDef', async () => {
    const response = await call(c.prediction, c.prediction.getModelMetadata, { modelSpec: { name: 'clf', signatureName: '' }, metadataField: ['signature_def'] });
    expect(response.modelSpec?.version).toBe(3n);
    const any = response.metadata.signature_def;
    expect(any?.typeUrl).toBe('type.googleapis.com/tensorflow.serving.SignatureDefMap');
    const map = tfs.SignatureDefMap.decode(any?.value as Buffer);
    const def = map.signatureDef.serving_default;
    expect(def?.methodName).toBe('tensorflow/serving/predict');
    expect(def?.inputs.image_input).toEqual({
      name: 'image_input',
      dtype: tf.DataType.DT_FLOAT,
      tensorShape: { dim: [1n, 64n, 64n, 3n].map((size) => ({ size, name: '' })), unknownRank: false },
    });
    expect(def?.outputs.label?.dtype).toBe(tf.DataType.DT_STRING);
  });

  it('GetModelStatus lists every version with its state', async () => {
    const all = await call(c.model, c.model.getModelStatus, { modelSpec: { name: 'clf', signatureName: '' } });
    expect(all.modelVersionStatus).toEqual([
      { version: 1n, state: tfs.ModelVersionStatus_State.AVAILABLE, status: { errorCode: tf.Code.OK, errorMessage: 'OK' } },
      { version: 3n, state: tfs.ModelVersionStatus_State.AVAILABLE, status: { errorCode: tf.Code.OK, errorMessage: 'OK' } },
    ]);
    const one = await call(c.model, c.model.getModelStatus, { modelSpec: { name: 'clf', version: 1n, signatureName: '' } });
    expect(one.modelVersionStatus.map((s) => s.version)).toEqual([1n]);
    expect(await failure(call(c.model, c.model.getModelStatus, { modelSpec: { name: 'clf', version: 2n, signatureName: '' } }))).toMatchObject({
      code: status.NOT_FOUND,
      bgCode: 'BG_UNKNOWN_VERSION',
    });
  });

  it('grpc.health.v1 answers for the server and for each model', async () => {
    const check = (service: string) => call(c.health, c.health.check, { service });
    expect(await check('')).toEqual({ status: health.HealthCheckResponse_ServingStatus.SERVING });
    expect(await check('clf')).toEqual({ status: health.HealthCheckResponse_ServingStatus.SERVING });
    expect(await check('anomaly')).toEqual({ status: health.HealthCheckResponse_ServingStatus.SERVING });
    expect((await failure(check('ghost'))).code).toBe(status.NOT_FOUND);
  });

  it('serves reflection listing the services it implements', async () => {
    const reflectionProto = join(REPO_ROOT, 'node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const pkg = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => Client & { ServerReflectionInfo(): ClientDuplexStream<object, Record<string, unknown>> } } } };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(t.grpcAddress, credentials.createInsecure());
    try {
      const stream = client.ServerReflectionInfo();
      const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
      });
      stream.write({ list_services: '*' });
      const response = await answer;
      stream.end();
      const names = ((response.list_services_response as { service: { name: string }[] }).service ?? []).map((s) => s.name);
      expect(names).toEqual(
        expect.arrayContaining(['inference.GRPCInferenceService', 'tensorflow.serving.PredictionService', 'tensorflow.serving.ModelService', 'grpc.health.v1.Health']),
      );
      expect(names).not.toContain('bundlegate.v1.ModelProxy');
    } finally {
      client.close();
    }
  });
});
