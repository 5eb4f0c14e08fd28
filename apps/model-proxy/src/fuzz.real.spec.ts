import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { bgv1 } from '@bundlegate/protos';
import { createTensor } from '@bundlegate/tensors';
import fc from 'fast-check';
import { gridModel, sizeClassifier, startTestBackend, type TestBackend } from '../test/backend-server';
import { FIXTURES, gradientJpeg, startProxy, type RunningProxy } from '../test/proxy-harness';

// Random request bodies and uploads must never get a 5xx or crash the proxy. FUZZ_RUNS=10000 for the long run.

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 100);
const MODELS = ['6687ad3b04248f708c1e0c95', '6684168e04248f708c1e0c93', 'doc-rectifier', 'tensor-echo'];
const KEYS = ['input', 'image_input', 'page', 'corners', 'threshold', 'x'];

let backend: TestBackend;
let proxies: RunningProxy[];
let jpeg: Buffer;

beforeAll(async () => {
  backend = await startTestBackend({
    [MODELS[0] as string]: gridModel(14, 14, 768, 'output'),
    [MODELS[1] as string]: sizeClassifier('label', 'probability'),
    'doc-rectifier': () => [
      createTensor('FP32', [1, 3], Float32Array.of(0.1, 0.2, 0.7), 'probs'),
      createTensor('FP32', [24], new Float32Array(24), 'chw'),
      createTensor('FP32', [1], Float32Array.of(1), 'echo'),
    ],
    'tensor-echo': (inputs) => [
      createTensor('INT64', [1], BigInt64Array.of(1n), 'index'),
      createTensor('FP32', [1], Float32Array.of(0.5), 'score'),
      { ...(inputs[0] ?? createTensor('INT32', [0], new Int32Array(0))), name: 'doubled' },
    ],
  });
  proxies = [
    await startProxy(join(FIXTURES, 'existing-deployment-signature.yaml'), backend.address, { maxBodyBytes: 256 * 1024, maxImagePixels: 1_000_000 }),
    await startProxy(join(FIXTURES, 'bundlegate-signature.yaml'), backend.address, { maxBodyBytes: 256 * 1024, maxImagePixels: 1_000_000 }),
  ];
  jpeg = await gradientJpeg(64, 48);
}, 30_000);

afterAll(async () => {
  for (const p of proxies) await p.close();
  await backend.close();
});

/** Image-ish bytes: the real JPEG, a cut or corrupted copy, or noise. */
const imageBytes = (): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.constant(null).map(() => jpeg),
    fc.nat().map((n) => jpeg.subarray(0, n % jpeg.byteLength)),
    fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
      const copy = Buffer.from(jpeg);
      copy[i % copy.byteLength] = v;
      return copy;
    }),
    fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
  );

const quadish = fc.array(fc.array(fc.oneof(fc.double(), fc.integer(), fc.string()), { maxLength: 3 }), { maxLength: 5 });
const tensorish = fc.record(
  { shape: fc.oneof(fc.array(fc.integer({ min: -2, max: 4 }), { maxLength: 3 }), fc.jsonValue()), data: fc.oneof(fc.array(fc.oneof(fc.integer(), fc.double(), fc.boolean()), { maxLength: 10 }), fc.base64String(), fc.jsonValue()), datatype: fc.constantFrom('INT32', 'FP32', 'BYTES', 'nope') },
  { requiredKeys: [] },
);
const inputValue = fc.oneof(
  fc.jsonValue(),
  imageBytes().map((b) => b.toString('base64')),
  imageBytes().map((b) => `data:image/jpeg;base64,${b.toString('base64')}`),
  fc.string(),
  quadish,
  tensorish,
  fc.double(),
);
const jsonBody = fc.oneof(
  fc.record({ inputs: fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), inputValue, { maxKeys: 4 }) }),
  fc.record({ inputs: fc.jsonValue(), extra: fc.jsonValue() }, { requiredKeys: [] }),
  fc.jsonValue(),
);
const modelId = fc.oneof(fc.constantFrom(...MODELS), fc.string({ maxLength: 30 }));
const query = fc.constantFrom('', '?encoding=base64', '?encoding=json', '?encoding=%ff', '?encoding=a&encoding=b');

async function expectNo5xx(res: Response): Promise<void> {
  const text = await res.text();
  if (res.status >= 500) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
  if (res.status !== 200) {
    const body = JSON.parse(text) as { error?: { code?: string } };
    expect(body.error?.code).toMatch(/^BG_/);
  }
}

describe('fuzzing', () => {
  it('JSON bodies (valid, near-valid and garbage) never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(1), modelId, query, fc.oneof(jsonBody.map((b) => JSON.stringify(b)), fc.string()), async (p, id, q, body) => {
        const proxy = proxies[p] as RunningProxy;
        const url = `${proxy.http}/api/v1/models/${encodeURIComponent(id)}/predict${q}`;
        await expectNo5xx(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }));
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  it('multipart uploads never get a 5xx', async () => {
    const part = fc.record({
      name: fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 10 })),
      file: fc.boolean(),
      bytes: fc.oneof(imageBytes(), fc.string().map((s) => Buffer.from(s)), fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? ''))),
    });
    await fc.assert(
      fc.asyncProperty(fc.nat(1), fc.constantFrom(...MODELS), fc.array(part, { maxLength: 5 }), async (p, id, parts) => {
        const proxy = proxies[p] as RunningProxy;
        const form = new FormData();
        for (const { name, file, bytes } of parts) {
          if (file) form.append(name, new Blob([bytes]), 'upload.bin');
          else form.append(name, bytes.toString('utf8'));
        }
        await expectNo5xx(await fetch(`${proxy.http}/api/v1/predict`, { method: 'POST', headers: { 'model-id': id }, body: form }));
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  it('broken multipart framing never gets a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.uint8Array({ maxLength: 500 }), async (boundary, body) => {
        const res = await fetch(`${(proxies[1] as RunningProxy).http}/api/v1/models/doc-rectifier/predict`, {
          method: 'POST',
          headers: { 'content-type': `multipart/form-data; boundary=${boundary.replace(/[\r\n]/g, '')}` },
          body,
        });
        await expectNo5xx(res);
      }),
      { numRuns: Math.ceil(RUNS / 3) },
    );
  }, 600_000);

  it('gRPC inputs of any kind get INVALID_ARGUMENT or NOT_FOUND, never INTERNAL', async () => {
    const input: fc.Arbitrary<bgv1.Input> = fc.oneof(
      imageBytes().map((image) => ({ image })),
      fc.array(fc.record({ x: fc.float(), y: fc.float() }), { maxLength: 5 }).map((points) => ({ quad: { points } })),
      fc.double().map((scalar) => ({ scalar })),
      fc
        .record({ datatype: fc.constantFrom('INT32', 'FP32', 'BYTES', 'x'), shape: fc.array(fc.bigInt({ min: -1n, max: 4n }), { maxLength: 3 }), data: fc.uint8Array({ maxLength: 40 }) })
        .map(({ datatype, shape, data }) => ({ tensor: { datatype, shape, data: Buffer.from(data) } })),
      fc.constant({}),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(1), modelId, fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string()), input, { maxKeys: 4 }), async (p, id, inputs) => {
        const client = (proxies[p] as RunningProxy).grpc;
        const metadata = new Metadata();
        metadata.set('model-id', id === '' ? 'x' : id);
        const code = await new Promise<number>((resolve) =>
          client.predict({ modelId: '', inputs }, metadata, (err: ServiceError | null) => resolve(err === null ? status.OK : err.code)),
        );
        expect([status.OK, status.INVALID_ARGUMENT, status.NOT_FOUND]).toContain(code);
      }),
      { numRuns: RUNS },
    );
  }, 600_000);
});
