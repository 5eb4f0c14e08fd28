import { join } from 'node:path';
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { health } from '@bundlegate/protos';
import { createTensor } from '@bundlegate/tensors';
import Ajv2020 from 'ajv/dist/2020';
import sharp from 'sharp';
import { gridModel, sizeClassifier, startTestBackend, StatusError, type TestBackend } from '../test/backend-server';
import { errorOf, FIXTURES, gradientJpeg, grpcGetConfig, grpcPredict, postForm, postJson, startProxy, type RunningProxy } from '../test/proxy-harness';
import { schemaNames, type OpenApiDocument } from './openapi';

// The proxy over real grpc-js model servers, with the signature file existing deployments ship, loaded unchanged.

const VISUAL = '6687ad3b04248f708c1e0c95';
const FRAUD = '6684168e04248f708c1e0c93';

let backend: TestBackend;
let running: RunningProxy;
let jpeg: Buffer;

beforeAll(async () => {
  backend = await startTestBackend({ [VISUAL]: gridModel(14, 14, 768, 'output'), [FRAUD]: sizeClassifier('label', 'probability') });
  running = await startProxy(join(FIXTURES, 'existing-deployment-signature.yaml'), backend.address, { deadlineMs: 1000 });
  jpeg = await gradientJpeg(320, 240);
});

afterAll(async () => {
  await running.close();
  await backend.close();
});

beforeEach(() => {
  backend.calls.length = 0;
});

function expectedGrid(mean: number, r: number, c: number, ch: number): number {
  return Math.fround(Math.fround((((r * 14 + c) * 768 + ch) % 1000) / 1000) + mean);
}

describe('existing-deployment signature', () => {
  it('lists the bundles, models, typed inputs and outputs and live readiness at /api/v1/config', async () => {
    const res = await fetch(`${running.http}/api/v1/config`);
    const config = (await res.json()) as { bundles: { name: string; backendInferenceEngine: string; models: Record<string, unknown>[] }[] };
    expect(res.status).toBe(200);
    expect(config.bundles.map((b) => [b.name, b.backendInferenceEngine])).toEqual([
      ['visual-anomaly', 'triton'],
      ['photo-fraud-classifier', 'tfServing'],
    ]);
    const visual = config.bundles[0]?.models[0];
    expect(visual).toMatchObject({
      id: VISUAL,
      backendInferenceEngine: 'triton',
      protocol: 'kserve-v2',
      ready: true,
      inputs: [{ typeId: 'Image', key: 'input', tensor: 'input', datatype: 'FP32', shape: [1, 3, 224, 224] }],
      outputs: [{ typeId: 'GridEmbedding', reads: ['output'], params: { rows: 14, cols: 14, numChannels: 768, keyName: 'output' } }],
    });
    expect(config.bundles[1]?.models[0]).toMatchObject({
      id: FRAUD,
      protocol: 'tfs-predict',
      ready: true,
      inputs: [{ typeId: 'Image', key: 'image_input', datatype: 'BYTES', shape: [1], params: { imageInputKey: 'image_input' } }],
    });
  });

  it('decodes a multipart JPEG into the NCHW tensor the signature describes and maps the grid back', async () => {
    const form = new FormData();
    form.append('input', new Blob([jpeg], { type: 'image/jpeg' }), 'photo.jpg');
    const answer = await postForm(`${running.http}/api/v1/models/${VISUAL}/predict`, form);
    expect(answer.status).toBe(200);

    const call = backend.calls[0];
    expect(call).toMatchObject({ protocol: 'kserve-v2', modelName: VISUAL, modelIdMetadata: VISUAL, requestedOutputs: ['output'] });
    const tensor = call?.inputs[0];
    expect(tensor).toMatchObject({ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224] });
    // the pixels sharp itself produces for a 224×224 fill resize, laid out channel-first
    const reference = await sharp(jpeg).resize(224, 224, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    const data = tensor?.data as Float32Array;
    for (const [y, x] of [
      [0, 0],
      [100, 37],
      [223, 223],
    ] as const) {
      for (let c = 0; c < 3; c++) expect(data[c * 224 * 224 + y * 224 + x]).toBe(reference[(y * 224 + x) * 3 + c]);
    }

    let mean = 0;
    for (const v of data) mean += v;
    mean /= data.length;
    const out = (answer.body['outputs'] as Record<string, unknown>[])[0] as { typeId: string; rows: number; cols: number; channels: number; data: number[][][] };
    expect(out).toMatchObject({ typeId: 'GridEmbedding', rows: 14, cols: 14, channels: 768 });
    expect(out.data).toHaveLength(14);
    expect(out.data[13]?.[13]).toHaveLength(768);
    expect(out.data[0]?.[0]?.[5]).toBeCloseTo(expectedGrid(mean, 0, 0, 5), 5);
    expect(out.data[3]?.[7]?.[700]).toBeCloseTo(expectedGrid(mean, 3, 7, 700), 5);
    expect(answer.body['modelId']).toBe(VISUAL);
    expect(answer.body['timings']).toMatchObject({ preprocessMs: expect.any(Number), backendMs: expect.any(Number), totalMs: expect.any(Number) });
  });

  it('accepts base64 and data: URLs in JSON and returns the grid as base64 float32 on request', async () => {
    const plain = await postJson(`${running.http}/api/v1/models/${VISUAL}/predict?encoding=base64`, { inputs: { input: jpeg.toString('base64') } });
    const dataUrl = await postJson(`${running.http}/api/v1/predict?encoding=base64`, { inputs: { input: `data:image/jpeg;base64,${jpeg.toString('base64')}` } }, { 'model-id': VISUAL });
    expect(plain.status).toBe(200);
    expect(dataUrl.status).toBe(200);
    const grid = (plain.body['outputs'] as { data: string; encoding: string }[])[0];
    expect(grid?.encoding).toBe('base64');
    const bytes = Buffer.from(grid?.data ?? '', 'base64');
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    expect(floats).toHaveLength(14 * 14 * 768);
    const nested = await postJson(`${running.http}/api/v1/models/${VISUAL}/predict`, { inputs: { input: jpeg.toString('base64') } });
    const cell = (nested.body['outputs'] as { data: number[][][] }[])[0]?.data[2]?.[9];
    expect(Array.from(floats.subarray((2 * 14 + 9) * 768, (2 * 14 + 10) * 768))).toEqual(cell);
    expect((dataUrl.body['outputs'] as { data: string }[])[0]?.data).toBe(grid?.data);
  });

  it('sends the encoded image unchanged as DT_STRING over TF Serving Predict when the signature has no decodeJpeg', async () => {
    const form = new FormData();
    form.append('image_input', new Blob([jpeg]), 'photo.jpg');
    const answer = await postForm(`${running.http}/api/v1/models/${FRAUD}/predict`, form, { 'x-request-id': 'trace-42' });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-request-id')).toBe('trace-42');
    const call = backend.calls[0];
    expect(call).toMatchObject({ protocol: 'tfs-predict', modelName: FRAUD, modelIdMetadata: FRAUD, requestIdMetadata: 'trace-42' });
    expect(call?.requestedOutputs.sort()).toEqual(['label', 'probability']);
    expect(call?.inputs[0]).toMatchObject({ name: 'image_input', datatype: 'BYTES', shape: [1] });
    expect(Buffer.from((call?.inputs[0]?.data as Uint8Array[])[0] as Uint8Array).equals(jpeg)).toBe(true);
    expect(answer.body['outputs']).toEqual([{ typeId: 'MaxClassification', label: 'big', score: Math.fround(jpeg.byteLength / 1e6) }]);
  });

  it('serves the same predictions over gRPC, by metadata or by request field', async () => {
    const byMetadata = await grpcPredict(running.grpc, { inputs: { image_input: { image: jpeg } } }, FRAUD);
    expect(byMetadata.modelId).toBe(FRAUD);
    expect(byMetadata.outputs).toEqual([{ typeId: 'MaxClassification', classification: { label: 'big', score: Math.fround(jpeg.byteLength / 1e6) } }]);
    const byField = await grpcPredict(running.grpc, { modelId: VISUAL, inputs: { input: { image: jpeg } } });
    const grid = byField.outputs[0]?.embeddingGrid;
    expect(grid).toMatchObject({ rows: 14, cols: 14, channels: 768 });
    expect(grid?.data.byteLength).toBe(14 * 14 * 768 * 4);
    expect(byField.timings?.totalMs).toBeGreaterThan(0);
    const config = await grpcGetConfig(running.grpc);
    expect(config.bundles.map((b) => b.models.map((m) => [m.id, m.ready, m.inputs.map((i) => i.key)]))).toEqual([
      [[VISUAL, true, ['input']]],
      [[FRAUD, true, ['image_input']]],
    ]);
    expect(config.bundles[0]?.models[0]?.inputs[0]?.params).toEqual({
      imageInputKey: 'input',
      decodeJpeg: { channelFirstRaster: true, channelOrder: 'RGB', resize: { height: 224, width: 224 } },
    });
  });
});

describe('client errors: a 4xx with a stable code, the field and what was expected', () => {
  const url = (id = VISUAL): string => `${running.http}/api/v1/models/${id}/predict`;

  it.each([
    ['unknown model', () => postJson(url('nope'), { inputs: {} }), 404, 'BG_UNKNOWN_MODEL', {}],
    ['missing input', () => postJson(url(), { inputs: {} }), 400, 'BG_MISSING_INPUT', { field: 'input' }],
    ['extra input', () => postJson(url(), { inputs: { input: 'AAAA', extra: 1 } }), 400, 'BG_UNEXPECTED_INPUT', { field: 'extra' }],
    ['wrong type', () => postJson(url(), { inputs: { input: 42 } }), 400, 'BG_INVALID_INPUT_TYPE', { field: 'input', got: 'a number' }],
    ['bad base64', () => postJson(url(), { inputs: { input: 'not*base64!' } }), 400, 'BG_BAD_BASE64', { field: 'input' }],
    ['undecodable image', () => postJson(url(), { inputs: { input: Buffer.from('hello, not a jpeg').toString('base64') } }), 400, 'BG_IMAGE_DECODE', { field: 'input' }],
    ['undecodable passthrough image', () => postJson(url(FRAUD), { inputs: { image_input: Buffer.from('GIF89a....').toString('base64') } }), 400, 'BG_IMAGE_DECODE', { field: 'image_input' }],
    ['invalid JSON', () => postJson(url(), '{"inputs": '), 400, 'BG_INVALID_JSON', {}],
    ['body not an object', () => postJson(url(), []), 400, 'BG_INVALID_ARGUMENT', { field: 'body' }],
    ['no model id header', () => postJson(`${running.http}/api/v1/predict`, { inputs: {} }), 400, 'BG_MISSING_MODEL_ID', {}],
    ['bad encoding', () => postJson(`${url()}?encoding=xml`, { inputs: { input: 'AAAA' } }), 400, 'BG_INVALID_ARGUMENT', { field: 'encoding' }],
  ] as const)('%s', async (_name, send, httpStatus, code, details) => {
    const answer = await send();
    expect(answer.status).toBe(httpStatus);
    expect(errorOf(answer)).toMatchObject({ code, message: expect.any(String), ...details });
    expect(backend.calls).toHaveLength(0);
  });

  it('answers 415 for other content types and 405 for other methods', async () => {
    const text = await fetch(url(), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as { error: { code: string } }).error.code).toBe('BG_UNSUPPORTED_MEDIA_TYPE');
    const get = await fetch(url());
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('names the duplicate part of a multipart body', async () => {
    const form = new FormData();
    form.append('input', new Blob([jpeg]), 'a.jpg');
    form.append('input', new Blob([jpeg]), 'b.jpg');
    const answer = await postForm(url(), form);
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ code: 'BG_UNEXPECTED_INPUT', field: 'input' });
  });

  it('refuses images over the pixel limit and bodies over the size limit', async () => {
    const small = await startProxy(join(FIXTURES, 'existing-deployment-signature.yaml'), backend.address, { maxImagePixels: 100 * 100, maxBodyBytes: 64 * 1024 });
    try {
      const big = await postJson(`${small.http}/api/v1/models/${VISUAL}/predict`, { inputs: { input: jpeg.toString('base64') } });
      expect(big.status).toBe(400);
      expect(errorOf(big)).toMatchObject({ code: 'BG_IMAGE_TOO_LARGE', field: 'input', width: 320, height: 240, maxPixels: 10000 });
      const passthrough = await postJson(`${small.http}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: jpeg.toString('base64') } });
      expect(errorOf(passthrough)).toMatchObject({ code: 'BG_IMAGE_TOO_LARGE', field: 'image_input' });
      const huge = Buffer.alloc(200 * 1024, 1).toString('base64');
      const tooLargeJson = await postJson(`${small.http}/api/v1/models/${VISUAL}/predict`, { inputs: { input: huge } });
      expect(tooLargeJson.status).toBe(413);
      expect(errorOf(tooLargeJson)).toMatchObject({ code: 'BG_BODY_TOO_LARGE', limit: 64 * 1024 });
      const form = new FormData();
      form.append('input', new Blob([Buffer.alloc(200 * 1024, 1)]), 'big.jpg');
      const tooLargeForm = await postForm(`${small.http}/api/v1/models/${VISUAL}/predict`, form);
      expect(tooLargeForm.status).toBe(413);
    } finally {
      await small.close();
    }
    expect(backend.calls).toHaveLength(0);
  });

  it('maps gRPC input errors to INVALID_ARGUMENT / NOT_FOUND with the registry code in metadata', async () => {
    const unknown = (await grpcPredict(running.grpc, { inputs: {} }, 'nope').catch((e: unknown) => e)) as ServiceError;
    expect(unknown.code).toBe(status.NOT_FOUND);
    expect(unknown.metadata.get('bg-error-code')).toEqual(['BG_UNKNOWN_MODEL']);
    const wrong = (await grpcPredict(running.grpc, { inputs: { input: { scalar: 3 } } }, VISUAL).catch((e: unknown) => e)) as ServiceError;
    expect(wrong.code).toBe(status.INVALID_ARGUMENT);
    expect(wrong.metadata.get('bg-error-code')).toEqual(['BG_INVALID_INPUT_TYPE']);
    const noId = (await grpcPredict(running.grpc, { inputs: {} }).catch((e: unknown) => e)) as ServiceError;
    expect(noId.metadata.get('bg-error-code')).toEqual(['BG_MISSING_MODEL_ID']);
  });
});

describe('backend failures keep the upstream status and message', () => {
  const send = (): ReturnType<typeof postJson> => postJson(`${running.http}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: jpeg.toString('base64') } });
  const original = sizeClassifier('label', 'probability');
  afterEach(() => backend.models.set(FRAUD, original));

  it.each([
    [status.UNAVAILABLE, 503, 'BG_UPSTREAM_UNAVAILABLE'],
    [status.INTERNAL, 502, 'BG_UPSTREAM_ERROR'],
    [status.INVALID_ARGUMENT, 400, 'BG_UPSTREAM_REJECTED'],
  ])('gRPC status %s → HTTP %s %s', async (grpcCode, httpStatus, code) => {
    backend.models.set(FRAUD, () => {
      throw new StatusError(grpcCode, 'model exploded on purpose');
    });
    const answer = await send();
    expect(answer.status).toBe(httpStatus);
    expect(errorOf(answer)).toMatchObject({ code, modelId: FRAUD });
    expect(JSON.stringify(errorOf(answer))).toContain('model exploded on purpose');
  });

  it('turns a missed deadline into 504 and DEADLINE_EXCEEDED', async () => {
    backend.models.set(FRAUD, async (inputs) => {
      await new Promise((r) => setTimeout(r, 1300));
      return original(inputs);
    });
    const answer = await send();
    expect(answer.status).toBe(504);
    expect(errorOf(answer)).toMatchObject({ code: 'BG_UPSTREAM_TIMEOUT' });
    const grpcErr = (await grpcPredict(running.grpc, { inputs: { image_input: { image: jpeg } } }, FRAUD).catch((e: unknown) => e)) as ServiceError;
    expect(grpcErr.code).toBe(status.DEADLINE_EXCEEDED);
  });

  it('reports an answer without the signature tensors as 502', async () => {
    backend.models.set(FRAUD, () => [createTensor('FP32', [1], Float32Array.of(1), 'something_else')]);
    const answer = await send();
    expect(answer.status).toBe(502);
    expect(errorOf(answer)).toMatchObject({ code: 'BG_UPSTREAM_ERROR' });
    expect(String(errorOf(answer)['message'])).toContain('"label"');
  });

  it('answers 503 when nothing listens at the gateway address', async () => {
    const dead = await startProxy(join(FIXTURES, 'existing-deployment-signature.yaml'), '127.0.0.1:1', { deadlineMs: 2000 });
    try {
      const answer = await postJson(`${dead.http}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: jpeg.toString('base64') } });
      expect(answer.status).toBe(503);
      expect(errorOf(answer)).toMatchObject({ code: 'BG_UPSTREAM_UNAVAILABLE' });
      const ready = await fetch(`${dead.http}/readyz`);
      await dead.proxy.readiness.refresh();
      expect((await fetch(`${dead.http}/readyz`)).status).toBe(503);
      expect(ready.status).toBe(503);
    } finally {
      await dead.close();
    }
  });
});

describe('health', () => {
  const grpcHealth = (service: string): Promise<number> => {
    const client = new health.HealthClient(running.grpcAddress, credentials.createInsecure());
    return new Promise((resolve, reject) =>
      client.check({ service }, new Metadata(), (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res.status);
      }),
    );
  };

  it('is ready only when the gateway and every model report ready', async () => {
    await running.proxy.readiness.refresh();
    expect((await fetch(`${running.http}/readyz`)).status).toBe(200);
    expect(await grpcHealth('')).toBe(health.HealthCheckResponse_ServingStatus.SERVING);
    expect(await grpcHealth('bundlegate.v1.ModelProxy')).toBe(health.HealthCheckResponse_ServingStatus.SERVING);

    backend.notReady.add(FRAUD);
    await running.proxy.readiness.refresh();
    const notReady = await fetch(`${running.http}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { checks: Record<string, { ready: boolean }> }).checks[`model:${FRAUD}`]?.ready).toBe(false);
    expect(await grpcHealth('')).toBe(health.HealthCheckResponse_ServingStatus.NOT_SERVING);
    backend.notReady.delete(FRAUD);

    backend.serving = false;
    await running.proxy.readiness.refresh();
    expect((await fetch(`${running.http}/readyz`)).status).toBe(503);
    backend.serving = true;
    await running.proxy.readiness.refresh();
    expect((await fetch(`${running.http}/readyz`)).status).toBe(200);
    expect((await fetch(`${running.http}/healthz`)).status).toBe(200);
  });

  it('exports request and stage metrics', async () => {
    await postJson(`${running.http}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: jpeg.toString('base64') } });
    const text = await (await fetch(`${running.http}/metrics`)).text();
    expect(text).toMatch(/model_proxy_http_requests_total\{route="predict",status="200"[^}]*\} \d+/);
    expect(text).toMatch(new RegExp(`model_proxy_stage_duration_seconds_count\\{[^}]*model="${FRAUD}",stage="backend"[^}]*\\} [1-9]`));
  });
});

describe('OpenAPI', () => {
  it('publishes a 3.1 document whose response schemas the real answers satisfy', async () => {
    const doc = (await (await fetch(`${running.http}/api/v1/openapi.json`)).json()) as OpenApiDocument;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/api/v1/config', `/api/v1/models/${VISUAL}/predict`, `/api/v1/models/${FRAUD}/predict`, '/api/v1/predict']),
    );
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema({ $id: 'doc', components: doc.components } as object);
    const check = (name: string, body: unknown): boolean => {
      const validate = ajv.getSchema(`doc#/components/schemas/${name}`);
      if (validate === undefined) throw new Error(`no schema ${name}`);
      return validate(body) as boolean;
    };
    const grid = await postJson(`${running.http}/api/v1/models/${VISUAL}/predict?encoding=base64`, { inputs: { input: jpeg.toString('base64') } });
    const label = await postJson(`${running.http}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: jpeg.toString('base64') } });
    expect(check(schemaNames(VISUAL).response, grid.body)).toBe(true);
    expect(check(schemaNames(FRAUD).response, label.body)).toBe(true);
    expect(check(schemaNames(FRAUD).response, grid.body)).toBe(false);
    expect(check('Config', await (await fetch(`${running.http}/api/v1/config`)).json())).toBe(true);
  });

  it('serves the interactive reference page and its assets from the local package', async () => {
    const redirect = await fetch(`${running.http}/api/v1/docs`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    const page = await fetch(`${running.http}/api/v1/docs/`);
    const html = await page.text();
    expect(html).toContain('swagger-ui-bundle.js');
    expect(html).not.toMatch(/https?:\/\//);
    const init = await (await fetch(`${running.http}/api/v1/docs/initializer.js`)).text();
    expect(init).toContain('"../openapi.json"');
    const bundle = await fetch(`${running.http}/api/v1/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(Number(bundle.headers.get('content-length'))).toBeGreaterThan(100_000);
  });
});
