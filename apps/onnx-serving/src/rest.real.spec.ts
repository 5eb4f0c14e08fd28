import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeInferResponseJson, encodeInferRequestJson, INFERENCE_HEADER_CONTENT_LENGTH, type Tensor } from '@bundlegate/tensors';
import { ANOMALY, CLASSES, CLASSIFIER, demoModelFile, SAMPLES, startTestServer, type TestServer } from '../test/harness';

const png = readFileSync(join(SAMPLES, 'checkerboard-640x480.png'));

describe('REST', () => {
  let t: TestServer;

  beforeAll(async () => {
    t = await startTestServer(
      [
        { name: 'anomaly', id: ANOMALY, versions: [1] },
        { name: 'clf', id: CLASSIFIER, versions: [1, 2], config: { model_version_policy: { specific: { versions: [1, 2] } } } },
      ],
      { restMaxBodyBytes: 1024 * 1024 },
    );
  });

  afterAll(() => t.close());

  const get = (path: string, init?: RequestInit) => fetch(`${t.restUrl}${path}`, init);
  const postJson = (path: string, body: unknown) => get(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });

  it('serves the KServe health and server metadata routes', async () => {
    expect((await get('/v2/health/live')).status).toBe(200);
    const ready = await get('/v2/health/ready');
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('');
    expect(await (await get('/v2')).json()).toEqual({ name: 'onnx-serving', version: expect.stringMatching(/^\d+\.\d+\.\d+/), extensions: ['binary_tensor_data'] });
  });

  it('serves model metadata and readiness, per model and per version', async () => {
    expect(await (await get('/v2/models/anomaly')).json()).toEqual({
      name: 'anomaly',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224] }],
      outputs: [{ name: 'output', datatype: 'FP32', shape: [1, 14, 14, 768] }],
    });
    const v1 = await (await get('/v2/models/clf/versions/1')).json();
    expect(v1).toMatchObject({ name: 'clf', versions: ['2', '1'] });
    expect((await get('/v2/models/clf/ready')).status).toBe(200);
    expect((await get('/v2/models/clf/versions/2/ready')).status).toBe(200);
    const missing = await get('/v2/models/clf/versions/5/ready');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      error: 'model "clf" has no version "5"; available: 2, 1',
      code: 'BG_UNKNOWN_VERSION',
      details: { modelId: 'clf', version: '5', known: ['2', '1'] },
    });
  });

  it('infers from JSON tensors', async () => {
    const data = Array.from({ length: 64 * 64 * 3 }, (_, i) => i % 256);
    const res = await postJson('/v2/models/clf/versions/1/infer', {
      id: 'j1',
      inputs: [{ name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3], data }],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model_name: string; model_version: string; id: string; outputs: { name: string; data: unknown[] }[] };
    expect(body).toMatchObject({ model_name: 'clf', model_version: '1', id: 'j1' });
    const session = await ort.InferenceSession.create(demoModelFile(CLASSIFIER));
    const expected = await session.run({ image_input: new ort.Tensor('float32', Float32Array.from(data), [1, 64, 64, 3]) });
    await session.release();
    expect(body.outputs).toEqual([
      { name: 'label', datatype: 'BYTES', shape: [1], data: [(expected.label as ort.Tensor).data[0]] },
      { name: 'probability', datatype: 'FP32', shape: [1], data: [((expected.probability as ort.Tensor).data as Float32Array)[0]] },
    ]);
  });

  it('infers with the binary data extension both ways', async () => {
    const input: Tensor = { name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], data: new Float32Array(150528).fill(0.25) };
    const body = encodeInferRequestJson({ inputs: [input], outputs: [{ name: 'output', parameters: { binary_data: true } }] }, { binary: true });
    const res = await get('/v2/models/anomaly/infer', {
      method: 'POST',
      body: Buffer.concat(body.parts),
      headers: { 'content-type': body.contentType, [INFERENCE_HEADER_CONTENT_LENGTH]: String(body.headerLength) },
    });
    expect(res.status).toBe(200);
    const headerLength = res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH);
    expect(Number(headerLength)).toBeGreaterThan(0);
    const decoded = decodeInferResponseJson(new Uint8Array(await res.arrayBuffer()), headerLength ?? undefined);
    expect(decoded.outputs[0]).toMatchObject({ name: 'output', datatype: 'FP32', shape: [1, 14, 14, 768] });
    expect((decoded.outputs[0]?.data as Float32Array).length).toBe(14 * 14 * 768);
  });

  it('decodes a PNG sent as binary BYTES for the image input', async () => {
    const body = encodeInferRequestJson({ inputs: [{ name: 'image_input', datatype: 'BYTES', shape: [1], data: [png] }] }, { binary: true });
    const res = await get('/v2/models/clf/infer', {
      method: 'POST',
      body: Buffer.concat(body.parts),
      headers: { [INFERENCE_HEADER_CONTENT_LENGTH]: String(body.headerLength) },
    });
    const json = (await res.json()) as { model_version: string; outputs: { name: string; data: unknown[] }[] };
    expect(json.model_version).toBe('2');
    expect(CLASSES).toContain(json.outputs[0]?.data[0]);
  });

  it.each([
    ['a wrong shape', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 2, 2], data: new Array(12).fill(0) }] }, 'BG_INVALID_SHAPE', 'input "input" has shape [1, 3, 2, 2]; expected [1,3,224,224]'],
    ['a wrong datatype', { inputs: [{ name: 'input', datatype: 'INT32', shape: [1, 3, 224, 224], data: new Array(150528).fill(0) }] }, 'BG_INVALID_DTYPE', 'input "input" has datatype INT32; expected FP32'],
    ['an unknown datatype', { inputs: [{ name: 'input', datatype: 'float', shape: [1], data: [0] }] }, 'BG_INVALID_DTYPE', 'has datatype float; expected a KServe v2 datatype'],
    ['a binary size that does not fit the shape', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], parameters: { binary_data_size: 16 } }] }, 'BG_INVALID_BYTE_SIZE', 'input "input" has 16 bytes of data; its shape and datatype need 602112'],
    ['data that does not fill the shape', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], data: [1, 2] }] }, 'BG_INVALID_ARGUMENT', 'needs 150528 FP32 elements (602112 bytes), got 2 data values'],
    ['no inputs array', { input: [] }, 'BG_INVALID_ARGUMENT', 'invalid inputs: expected an array of tensors'],
  ])('refuses %s with 400 and the registry code', async (_what, body, code, message) => {
    const res = await postJson('/v2/models/anomaly/infer', body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: string; code: string };
    expect(json.code).toBe(code);
    expect(json.error).toContain(message);
  });

  it('refuses bodies that are not JSON, too large, or sent to unknown places', async () => {
    const notJson = await get('/v2/models/anomaly/infer', { method: 'POST', body: '{"inputs": [' });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { code: string }).code).toBe('BG_INVALID_JSON');
    const big = await get('/v2/models/anomaly/infer', { method: 'POST', body: Buffer.alloc(2 * 1024 * 1024) });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: 'BG_BODY_TOO_LARGE', error: 'request body is too large; the limit is 1048576 bytes' });
    const unknownModel = await postJson('/v2/models/ghost/infer', { inputs: [] });
    expect(unknownModel.status).toBe(404);
    expect(((await unknownModel.json()) as { code: string }).code).toBe('BG_UNKNOWN_MODEL');
    const route = await get('/v3/anything');
    expect(route.status).toBe(404);
    expect(await route.json()).toEqual({ error: 'no route for GET /v3/anything', code: 'BG_NOT_FOUND', details: { method: 'GET', path: '/v3/anything' } });
    const method = await get('/v2/models/clf/infer');
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('POST');
  });

  it('logs a refused request with the caller\'s request id', async () => {
    await get('/v2/models/clf/infer', { method: 'POST', body: '{"inputs": []}', headers: { 'x-request-id': 'trace-42' } });
    const line = t.log.lines().find((l) => l.reqId === 'trace-42');
    expect(line).toMatchObject({ level: 'debug', code: 'BG_MISSING_INPUT', model: 'clf', method: 'ModelInfer', interface: 'REST' });
  });

  it('serves OVMS /v1/config and TF Serving model status', async () => {
    expect(await (await get('/v1/config')).json()).toEqual({
      anomaly: { model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: 'OK' } }] },
      clf: {
        model_version_status: [
          { version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: 'OK' } },
          { version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: 'OK' } },
        ],
      },
    });
    expect(await (await get('/v1/models/clf/versions/2')).json()).toEqual({
      model_version_status: [{ version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: 'OK' } }],
    });
  });

  it('serves /healthz, /readyz and /metrics with OVMS metric names', async () => {
    expect((await get('/healthz')).status).toBe(200);
    const ready = (await (await get('/readyz')).json()) as { ready: boolean; checks: Record<string, unknown> };
    expect(ready.ready).toBe(true);
    expect(Object.keys(ready.checks).sort()).toEqual(['model:anomaly', 'model:clf', 'startup']);
    await postJson('/v2/models/clf/infer', { inputs: [{ name: 'image_input', datatype: 'FP32', shape: [1, 1], data: [0] }] });
    const text = await (await get('/metrics')).text();
    expect(text).toMatch(/^ovms_requests_success\{api="KServe",interface="REST",method="ModelInfer",name="clf",version="1",service="onnx-serving"\} [1-9]/m);
    expect(text).toMatch(/^ovms_requests_fail\{api="KServe",interface="REST",method="ModelInfer",name="clf",version="2",service="onnx-serving"\} [1-9]/m);
    expect(text).toMatch(/^ovms_request_time_us_count\{service="onnx-serving",interface="REST",name="clf",version="1"\} [1-9]/m);
    expect(text).toMatch(/^ovms_inference_time_us_count\{service="onnx-serving",name="clf",version="1"\} [1-9]/m);
    expect(text).toMatch(/^ovms_current_requests\{name="clf",version="1",service="onnx-serving"\} 0/m);
    // made-up model names and versions do not become label values
    await postJson('/v2/models/clf/versions/77/infer', { inputs: [] });
    expect(text).not.toContain('name="ghost"');
    expect(await (await get('/metrics')).text()).not.toContain('version="77"');
  });
});
