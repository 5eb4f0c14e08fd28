import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSignatureFile } from '@bundlegate/bundle';
import { createLogger } from '@bundlegate/service-kit';
import { InProcessBackend } from './backend-in-process';
import { createModelProxy, type ModelProxy } from './model-proxy';
import { DEMO_DIR } from '../test/proxy-harness';

// The demo bundle run inside the proxy with the onnx-serving runtime: no gateway, no serving container.

const VISUAL = '6687ad3b04248f708c1e0c95';
const FRAUD = '6684168e04248f708c1e0c93';

let proxy: ModelProxy;
let http: string;

beforeAll(async () => {
  const signature = await loadSignatureFile(join(DEMO_DIR, 'bundle-signature.yaml'));
  const logger = createLogger({ service: 'model-proxy', level: 'silent' });
  const backend = await InProcessBackend.open({
    modelsDir: join(DEMO_DIR, 'bucket', 'models'),
    modelIds: [VISUAL, FRAUD],
    logger,
  });
  proxy = createModelProxy({ signature, backend, logger, readinessIntervalMs: 0 });
  const { httpPort } = await proxy.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  http = `http://127.0.0.1:${httpPort}`;
}, 60_000);

afterAll(async () => {
  await proxy.close(1000);
});

const sample = (name: string): Buffer => readFileSync(join(DEMO_DIR, 'samples', name));

it('runs both demo models on a sample photo and reports them ready', async () => {
  const form = new FormData();
  form.append('input', new Blob([sample('shapes-640x480.jpg')]), 'shapes.jpg');
  const grid = await fetch(`${http}/api/v1/models/${VISUAL}/predict?encoding=base64`, { method: 'POST', body: form });
  const gridBody = (await grid.json()) as { outputs: { rows: number; cols: number; channels: number; data: string }[] };
  expect(grid.status).toBe(200);
  expect(gridBody.outputs[0]).toMatchObject({ rows: 14, cols: 14, channels: 768 });
  const floats = new Float32Array(new Uint8Array(Buffer.from(gridBody.outputs[0]?.data ?? '', 'base64')).buffer);
  expect(floats).toHaveLength(14 * 14 * 768);
  expect(floats.every(Number.isFinite)).toBe(true);
  // different patches of the photo embed differently
  expect(floats.subarray(0, 768)).not.toEqual(floats.subarray(13 * 14 * 768, 13 * 14 * 768 + 768));

  const label = await fetch(`${http}/api/v1/models/${FRAUD}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inputs: { image_input: sample('night-320x240.jpg').toString('base64') } }),
  });
  const labelBody = (await label.json()) as { outputs: { label: string; score: number }[] };
  expect(label.status).toBe(200);
  expect(['authentic', 'tampered']).toContain(labelBody.outputs[0]?.label);
  expect(labelBody.outputs[0]?.score).toBeGreaterThanOrEqual(0.5);
  expect(labelBody.outputs[0]?.score).toBeLessThanOrEqual(1);

  const config = (await (await fetch(`${http}/api/v1/config`)).json()) as { backend: { kind: string }; bundles: { models: { ready: boolean }[] }[] };
  expect(config.backend.kind).toBe('in-process');
  expect(config.bundles.flatMap((b) => b.models.map((m) => m.ready))).toEqual([true, true]);
});
