import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSignatureFile } from '@bundlegate/bundle';
import { createLogger } from '@bundlegate/service-kit';
import { DEMO_DIR, grpcPredict, postJson, startProxy, type RunningProxy } from '../test/proxy-harness';
import { buildServices, distMain, startGateway, startOnnxServing, startService, type RunningService } from '../test/services';
import { InProcessBackend } from './backend-in-process';
import { createModelProxy, type ModelProxy } from './model-proxy';

// The stack as deployed: this proxy → the real gateway (routing by model-id) → real onnx-serving, with the demo
// bundle; KServe v2 for visual-anomaly (triton), TF Serving Predict for photo-fraud-classifier (tfServing). The same
// models run in-process give the reference answers.

const VISUAL = '6687ad3b04248f708c1e0c95';
const FRAUD = '6684168e04248f708c1e0c93';
const MODELS_DIR = join(DEMO_DIR, 'bucket', 'models');
const SIGNATURE = join(DEMO_DIR, 'bundle-signature.yaml');

let serving: RunningService & { grpcPort: number };
let gateway: RunningService & { grpcPort: number };
let running: RunningProxy;
let reference: ModelProxy;
let referenceUrl: string;

const sample = (name: string): Buffer => readFileSync(join(DEMO_DIR, 'samples', name));

beforeAll(async () => {
  buildServices(['gateway', 'onnx-serving', 'model-proxy']);
  serving = await startOnnxServing(MODELS_DIR, [VISUAL, FRAUD]);
  gateway = await startGateway([VISUAL, FRAUD], `127.0.0.1:${serving.grpcPort}`);
  running = await startProxy(SIGNATURE, `127.0.0.1:${gateway.grpcPort}`);
  const logger = createLogger({ service: 'model-proxy', level: 'silent' });
  const backend = await InProcessBackend.open({ modelsDir: MODELS_DIR, modelIds: [VISUAL, FRAUD], logger });
  reference = createModelProxy({ signature: await loadSignatureFile(SIGNATURE), backend, logger, readinessIntervalMs: 0 });
  referenceUrl = `http://127.0.0.1:${(await reference.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 })).httpPort}`;
}, 180_000);

afterAll(async () => {
  await running?.close();
  await reference?.close(1000);
  await gateway?.stop();
  await serving?.stop();
});

async function gridOf(base: string, image: Buffer): Promise<Float32Array> {
  const answer = await postJson(`${base}/api/v1/models/${VISUAL}/predict?encoding=base64`, { inputs: { input: image.toString('base64') } });
  expect(answer.status).toBe(200);
  const bytes = Buffer.from((answer.body['outputs'] as { data: string }[])[0]?.data ?? '', 'base64');
  return new Float32Array(new Uint8Array(bytes).buffer);
}

it('reports the gateway and both models ready', async () => {
  await running.proxy.readiness.refresh();
  const ready = await fetch(`${running.http}/readyz`);
  expect({ status: ready.status, body: await ready.json() }).toMatchObject({ status: 200, body: { ready: true, checks: { backend: { ready: true } } } });
  const config = (await (await fetch(`${running.http}/api/v1/config`)).json()) as { bundles: { models: { id: string; ready: boolean }[] }[] };
  expect(config.bundles.flatMap((b) => b.models.map((m) => [m.id, m.ready]))).toEqual([
    [VISUAL, true],
    [FRAUD, true],
  ]);
});

it('KServe v2 through the gateway: the embedding grid of a JPEG equals the in-process answer', async () => {
  for (const name of ['shapes-640x480.jpg', 'gradient-320x240.jpg']) {
    const [viaGateway, inProcess] = await Promise.all([gridOf(running.http, sample(name)), gridOf(referenceUrl, sample(name))]);
    expect(viaGateway).toHaveLength(14 * 14 * 768);
    let worst = 0;
    for (let i = 0; i < viaGateway.length; i++) worst = Math.max(worst, Math.abs((viaGateway[i] as number) - (inProcess[i] as number)));
    expect(worst).toBeLessThan(1e-4);
  }
});

it('TF Serving Predict through the gateway: the encoded upload is classified like in-process, over HTTP and gRPC', async () => {
  for (const name of ['night-320x240.jpg', 'checkerboard-640x480.png']) {
    const form = new FormData();
    form.append('image_input', new Blob([sample(name)]), name);
    const http = await fetch(`${running.http}/api/v1/models/${FRAUD}/predict`, { method: 'POST', body: form });
    const body = (await http.json()) as { outputs: { label: string; score: number }[] };
    const expected = await postJson(`${referenceUrl}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: sample(name).toString('base64') } });
    const want = (expected.body['outputs'] as { label: string; score: number }[])[0];
    expect(http.status).toBe(200);
    expect(body.outputs[0]?.label).toBe(want?.label);
    expect(body.outputs[0]?.score).toBeCloseTo(want?.score ?? NaN, 5);
    const grpc = await grpcPredict(running.grpc, { inputs: { image_input: { image: sample(name) } } }, FRAUD);
    expect(grpc.outputs[0]?.classification?.label).toBe(want?.label);
  }
});

it('passes a corrupt upload to no backend: the proxy answers 400 itself', async () => {
  const answer = await postJson(`${running.http}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: sample('night-320x240.jpg').subarray(0, 50).toString('base64') } });
  expect(answer.status).toBe(400);
  expect((answer.body['error'] as { code: string }).code).toBe('BG_IMAGE_DECODE');
});

it('runs as the model-proxy command: bad settings exit 2 listing every problem, good ones serve', async () => {
  const bad = spawnSync(process.execPath, [distMain('model-proxy'), '--signature', '/nonexistent.yaml', '--http_port', 'x', '--backend', 'in-process'], { encoding: 'utf8' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('--signature');
  expect(bad.stderr).toContain('--http_port');
  const proxy = await startService(
    'model-proxy',
    ['--signature', SIGNATURE, '--gateway', `127.0.0.1:${gateway.grpcPort}`, '--host', '127.0.0.1', '--http_port', '0', '--grpc_port', '0'],
    ['model proxy listening'],
  );
  try {
    const port = Number(proxy.lines.get('model proxy listening')?.['httpPort']);
    const answer = await postJson(`http://127.0.0.1:${port}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: sample('gradient-320x240.jpg').toString('base64') } });
    expect(answer.status).toBe(200);
  } finally {
    await proxy.stop();
  }
}, 60_000);

it('answers 503 once the serving container is gone', async () => {
  await serving.stop();
  const answer = await postJson(`${running.http}/api/v1/models/${FRAUD}/predict`, { inputs: { image_input: sample('night-320x240.jpg').toString('base64') } });
  expect(answer.status).toBe(503);
  expect((answer.body['error'] as { code: string }).code).toMatch(/^BG_(UPSTREAM_UNAVAILABLE|NO_HEALTHY_ENDPOINT)$/);
});
