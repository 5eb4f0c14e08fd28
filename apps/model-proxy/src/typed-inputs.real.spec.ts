import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { createTensor, type AnyTensor } from '@bundlegate/tensors';
import sharp from 'sharp';
import { startTestBackend, type TestBackend } from '../test/backend-server';
import { errorOf, FIXTURES, gradientJpeg, grpcPredict, postForm, postJson, startProxy, type RunningProxy } from '../test/proxy-harness';

// Bundlegate's additions to the signature: Quad, Scalar and Tensor inputs, normalisation, labels, CHW grids and
// Tensor outputs, over KServe v2 and TF Serving.

let backend: TestBackend;
let running: RunningProxy;
let jpeg: Buffer;

function byName(inputs: readonly AnyTensor[], name: string): AnyTensor {
  const t = inputs.find((i) => i.name === name);
  if (t === undefined) throw new Error(`no input ${name}`);
  return t;
}

beforeAll(async () => {
  backend = await startTestBackend({
    // probs favour "receipt"; chw[c][h][w] = 100c + 10h + w; echo returns the quad tensor as received
    'doc-rectifier': (inputs) => [
      createTensor('FP32', [1, 3], Float32Array.of(0.1, 0.2, 0.7), 'probs'),
      createTensor('FP32', [1, 4, 2, 3], Float32Array.from({ length: 24 }, (_, k) => 100 * Math.floor(k / 6) + 10 * Math.floor((k % 6) / 3) + (k % 3)), 'chw'),
      { ...byName(inputs, 'quad'), name: 'echo' },
    ],
    // index = (sum of x) mod 3; doubled = 2x
    'tensor-echo': (inputs) => {
      const x = byName(inputs, 'x');
      const values = Array.from(x.data as Int32Array);
      const sum = values.reduce((a, b) => a + b, 0);
      return [
        createTensor('INT64', [1], BigInt64Array.of(BigInt(((sum % 3) + 3) % 3)), 'index'),
        createTensor('FP32', [1], Float32Array.of(0.5), 'score'),
        createTensor('INT32', [...x.shape], Int32Array.from(values, (v) => 2 * v), 'doubled'),
      ];
    },
  });
  running = await startProxy(join(FIXTURES, 'bundlegate-signature.yaml'), backend.address);
  jpeg = await gradientJpeg(96, 64);
});

afterAll(async () => {
  await running.close();
  await backend.close();
});

beforeEach(() => {
  backend.calls.length = 0;
});

const QUAD = [
  [1, 2],
  [30, 2],
  [30, 20],
  [1.5, 20],
];

describe('image + quad + scalar model over KServe v2', () => {
  it('builds every tensor as the signature says and maps argmax, CHW grid and tensor outputs', async () => {
    const answer = await postJson(`${running.http}/api/v1/models/doc-rectifier/predict`, {
      inputs: { page: jpeg.toString('base64'), corners: QUAD, threshold: 0.25 },
    });
    expect(answer.status).toBe(200);
    const inputs = backend.calls[0]?.inputs ?? [];
    const pixels = byName(inputs, 'pixels');
    expect(pixels).toMatchObject({ datatype: 'FP32', shape: [1, 32, 48, 3] });
    // NHWC, BGR, (v / 255 - 0.5) / 0.25
    const reference = await sharp(jpeg).resize(48, 32, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    const p = (5 * 48 + 7) * 3;
    const data = pixels.data as Float32Array;
    expect(data[p]).toBeCloseTo(((reference[p + 2] as number) / 255 - 0.5) / 0.25, 5);
    expect(data[p + 2]).toBeCloseTo(((reference[p] as number) / 255 - 0.5) / 0.25, 5);
    expect(byName(inputs, 'quad')).toMatchObject({ datatype: 'FP32', shape: [1, 4, 2], data: Float32Array.from(QUAD.flat()) });
    expect(byName(inputs, 'thr')).toMatchObject({ datatype: 'FP64', shape: [1, 1], data: Float64Array.of(0.25) });

    const [kind, cells, raw] = answer.body['outputs'] as Record<string, unknown>[];
    expect(kind).toEqual({ typeId: 'MaxClassification', name: 'kind', label: 'receipt', score: Math.fround(0.7) });
    // HWC cell (h, w) holds channels [w + 10h, 100 + w + 10h, ...]
    expect(cells).toMatchObject({ typeId: 'GridEmbedding', name: 'cells', rows: 2, cols: 3, channels: 4 });
    expect((cells?.['data'] as number[][][])[1]?.[2]).toEqual([12, 112, 212, 312]);
    expect(raw).toEqual({ typeId: 'Tensor', name: 'raw', shape: [1, 4, 2], datatype: 'FP32', data: QUAD.flat() });
  });

  it('takes the same inputs as multipart parts (file for the image, JSON text for the rest)', async () => {
    const form = new FormData();
    form.append('page', new Blob([jpeg], { type: 'image/jpeg' }), 'page.jpg');
    form.append('corners', JSON.stringify(QUAD));
    form.append('threshold', '0.25');
    const answer = await postForm(`${running.http}/api/v1/models/doc-rectifier/predict?encoding=base64`, form);
    expect(answer.status).toBe(200);
    const raw = (answer.body['outputs'] as Record<string, unknown>[])[2];
    expect(raw).toMatchObject({ encoding: 'base64', datatype: 'FP32' });
    expect(Buffer.from(raw?.['data'] as string, 'base64').equals(Buffer.from(Float32Array.from(QUAD.flat()).buffer))).toBe(true);
  });

  it('takes quads and scalars over gRPC', async () => {
    const res = await grpcPredict(
      running.grpc,
      { inputs: { page: { image: jpeg }, corners: { quad: { points: QUAD.map(([x, y]) => ({ x: x as number, y: y as number })) } }, threshold: { scalar: 0.25 } } },
      'doc-rectifier',
    );
    expect(res.outputs.map((o) => o.name)).toEqual(['kind', 'cells', 'raw']);
    expect(res.outputs[0]?.classification?.label).toBe('receipt');
    const grid = res.outputs[1]?.embeddingGrid?.data as Buffer;
    const floats = new Float32Array(grid.buffer.slice(grid.byteOffset, grid.byteOffset + grid.byteLength));
    expect(Array.from(floats.subarray((1 * 3 + 2) * 4, (1 * 3 + 3) * 4))).toEqual([12, 112, 212, 312]);
    expect(res.outputs[2]?.tensor).toMatchObject({ datatype: 'FP32', shape: [1n, 4n, 2n] });
  });

  it.each([
    ['three points', { corners: QUAD.slice(0, 3) }, 'BG_INVALID_INPUT_TYPE', 'corners'],
    ['a point with one coordinate', { corners: [[1], [2, 3], [4, 5], [6, 7]] }, 'BG_INVALID_INPUT_TYPE', 'corners'],
    ['a string threshold', { threshold: '0.5' }, 'BG_INVALID_INPUT_TYPE', 'threshold'],
  ])('refuses %s', async (_name, override, code, field) => {
    const answer = await postJson(`${running.http}/api/v1/models/doc-rectifier/predict`, {
      inputs: { page: jpeg.toString('base64'), corners: QUAD, threshold: 0.25, ...override },
    });
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ code, field, expected: expect.any(String) });
  });

  it('refuses a gRPC quad that is not four points', async () => {
    const err = (await grpcPredict(
      running.grpc,
      { inputs: { page: { image: jpeg }, corners: { quad: { points: [{ x: 1, y: 2 }] } }, threshold: { scalar: 1 } } },
      'doc-rectifier',
    ).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.metadata.get('bg-error-code')).toEqual(['BG_INVALID_INPUT_TYPE']);
    expect(err.details).toContain('corners');
  });
});

describe('tensor model over TF Serving', () => {
  const url = (): string => `${running.http}/api/v1/models/tensor-echo/predict`;

  it('passes a JSON tensor through and maps an indexed label', async () => {
    const answer = await postJson(url(), { inputs: { x: { shape: [2, 2], data: [[1, 2], [3, 5]] } } });
    expect(answer.status).toBe(200);
    expect(backend.calls[0]).toMatchObject({ protocol: 'tfs-predict', modelIdMetadata: 'tensor-echo' });
    expect(byName(backend.calls[0]?.inputs ?? [], 'x')).toMatchObject({ datatype: 'INT32', shape: [2, 2], data: Int32Array.of(1, 2, 3, 5) });
    expect(answer.body['outputs']).toEqual([
      { typeId: 'MaxClassification', label: 'two', score: 0.5 },
      { typeId: 'Tensor', shape: [2, 2], datatype: 'INT32', data: [2, 4, 6, 10] },
    ]);
  });

  it('accepts raw little-endian data as base64 and over gRPC', async () => {
    const raw = Buffer.from(Int32Array.of(1, 1, 1).buffer);
    const answer = await postJson(url(), { inputs: { x: { shape: [2, 1], datatype: 'INT32', data: Buffer.from(Int32Array.of(4, 4).buffer).toString('base64') } } });
    expect(answer.body['outputs']).toMatchObject([{ label: 'two' }, { data: [8, 8] }]);
    const res = await grpcPredict(running.grpc, { modelId: 'tensor-echo', inputs: { x: { tensor: { datatype: 'INT32', shape: [2n, 1n], data: raw.subarray(0, 8) } } } });
    expect(res.outputs[0]?.classification?.label).toBe('two');
    expect(Array.from(new Int32Array(new Uint8Array(res.outputs[1]?.tensor?.data ?? []).buffer))).toEqual([2, 2]);
  });

  it.each([
    ['a shape the signature does not allow', { shape: [3, 1], data: [1, 2, 3] }, 'BG_INVALID_SHAPE'],
    ['another datatype', { shape: [2, 1], datatype: 'FP32', data: [1, 2] }, 'BG_INVALID_DTYPE'],
    ['too few values', { shape: [2, 2], data: [1, 2, 3] }, 'BG_INVALID_INPUT_TYPE'],
    ['raw data of the wrong size', { shape: [2, 2], data: Buffer.alloc(12).toString('base64') }, 'BG_INVALID_BYTE_SIZE'],
    ['values out of INT32 range', { shape: [2, 1], data: [1, 2 ** 40] }, 'BG_INVALID_INPUT_TYPE'],
    ['no shape', { data: [1, 2] }, 'BG_INVALID_INPUT_TYPE'],
  ])('refuses %s', async (_name, tensor, code) => {
    const answer = await postJson(url(), { inputs: { x: tensor } });
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ code, field: 'x' });
    expect(backend.calls).toHaveLength(0);
  });
});
