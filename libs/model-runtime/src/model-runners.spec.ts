import * as ort from 'onnxruntime-node';
import type { Tensor } from '@bundlegate/tensors';
import { ANOMALY, CLASSIFIER, demoModelFile } from '../test/fixtures';
import { INLINE_BELOW_MS, openModel, probeFeeds } from './open-model';
import { toOrtValue } from './ort-values';
import { resolveRuntimeOptions, type RuntimeOptions } from './runtime-options';

const worker2: RuntimeOptions = resolveRuntimeOptions({ nireq: 2, pluginConfig: { executor: 'worker' } }, 2).options;
const inline: RuntimeOptions = resolveRuntimeOptions({ pluginConfig: { executor: 'inline' } }, 2).options;

function pixels(n: number, seed: number): Float32Array {
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = ((i * 31 + seed * 17) % 256) / 255;
  return data;
}

/** onnxruntime-node straight, as the anchor every executor must match exactly. */
async function direct(id: string, name: string, inputs: readonly Float32Array[], dims: number[]): Promise<ort.InferenceSession.ReturnType[]> {
  const session = await ort.InferenceSession.create(demoModelFile(id));
  try {
    const out: ort.InferenceSession.ReturnType[] = [];
    for (const data of inputs) out.push(await session.run({ [name]: new ort.Tensor('float32', data, dims) }));
    return out;
  } finally {
    await session.release();
  }
}

const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe.each([
  ['worker', worker2],
  ['inline', inline],
])('%s executor', (_label, options) => {
  it('reports the declared inputs and outputs', async () => {
    const runner = await openModel(demoModelFile(CLASSIFIER), options);
    try {
      expect(runner.inputs).toEqual([{ name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3] }]);
      expect(runner.outputs).toEqual([
        { name: 'label', datatype: 'BYTES', shape: [1] },
        { name: 'probability', datatype: 'FP32', shape: [1] },
      ]);
      expect(runner.options.sessions).toBe(options.executor === 'inline' ? 1 : 2);
    } finally {
      await runner.close();
    }
  });

  it('computes what onnxruntime computes directly, for concurrent requests', async () => {
    const runner = await openModel(demoModelFile(ANOMALY), options);
    try {
      const dims = [1, 3, 224, 224];
      const inputs = [0, 1, 2, 3].map((seed) => pixels(3 * 224 * 224, seed));
      const results = await Promise.all(
        inputs.map((data) =>
          runner.run([toOrtValue('input', { datatype: 'FP32', shape: dims, data } as Tensor)], ['output']),
        ),
      );
      const anchors = await direct(ANOMALY, 'input', inputs, dims);
      for (let i = 0; i < inputs.length; i++) {
        const expected = anchors[i]?.output as ort.Tensor;
        const [out] = results[i] as Tensor[];
        expect(out?.name).toBe('output');
        expect(out?.shape).toEqual([1, 14, 14, 768]);
        expect(bytesOf(out?.data as Float32Array).equals(bytesOf(expected.data as Float32Array))).toBe(true);
      }
      // different inputs give different grids: the runs did not share buffers
      expect((results[0]?.[0]?.data as Float32Array)[0]).not.toBe((results[1]?.[0]?.data as Float32Array)[0]);
    } finally {
      await runner.close();
    }
  });

  it('returns string outputs as UTF-8 bytes, in the order asked for', async () => {
    const runner = await openModel(demoModelFile(CLASSIFIER), options);
    try {
      const data = pixels(64 * 64 * 3, 5).map((v) => v * 255);
      const out = await runner.run([toOrtValue('image_input', { datatype: 'FP32', shape: [1, 64, 64, 3], data } as Tensor)], ['probability', 'label']);
      const [expected] = (await direct(CLASSIFIER, 'image_input', [data], [1, 64, 64, 3])) as [ort.InferenceSession.ReturnType];
      expect(out.map((t) => t.name)).toEqual(['probability', 'label']);
      expect(out[1]?.datatype).toBe('BYTES');
      expect(Buffer.from((out[1]?.data as Uint8Array[])[0] as Uint8Array).toString()).toBe((expected.label as ort.Tensor).data[0]);
      expect(Array.from(out[0]?.data as Float32Array)).toEqual(Array.from((expected.probability as ort.Tensor).data as Float32Array));
    } finally {
      await runner.close();
    }
  });

  it('rejects a run onnxruntime refuses, and keeps serving afterwards', async () => {
    const runner = await openModel(demoModelFile(CLASSIFIER), options);
    try {
      const wrong = toOrtValue('image_input', { datatype: 'FP32', shape: [1, 2, 2, 3], data: new Float32Array(12) } as Tensor);
      await expect(runner.run([wrong], ['label'])).rejects.toThrow(/dimension|Got invalid dimensions/i);
      const right = toOrtValue('image_input', { datatype: 'FP32', shape: [1, 64, 64, 3], data: new Float32Array(64 * 64 * 3) } as Tensor);
      await expect(runner.run([right], ['label'])).resolves.toHaveLength(1);
    } finally {
      await runner.close();
    }
  });

  it('fails to open a file that is not a model, and rejects runs after close', async () => {
    await expect(openModel(__filename, options)).rejects.toThrow();
    const runner = await openModel(demoModelFile(CLASSIFIER), options);
    await runner.close();
    const feed = toOrtValue('image_input', { datatype: 'FP32', shape: [1, 64, 64, 3], data: new Float32Array(64 * 64 * 3) } as Tensor);
    await expect(runner.run([feed], ['label'])).rejects.toThrow('the model was unloaded');
  });
});

describe('auto executor', () => {
  const auto = resolveRuntimeOptions({}, 2).options;

  it('probes a tiny model and runs it inline', async () => {
    const runner = await openModel(demoModelFile(CLASSIFIER), auto);
    try {
      expect(runner.options.executor).toBe('inline');
      expect(runner.probeMs).toBeLessThan(INLINE_BELOW_MS);
      const data = new Float32Array(64 * 64 * 3);
      await expect(runner.run([toOrtValue('image_input', { datatype: 'FP32', shape: [1, 64, 64, 3], data } as Tensor)], ['label'])).resolves.toHaveLength(1);
    } finally {
      await runner.close();
    }
  });

  it('keeps a heavy model on worker sessions', async () => {
    const runner = await openModel(demoModelFile(ANOMALY), auto);
    try {
      expect(runner.options).toMatchObject({ executor: 'worker', sessions: 2 });
      expect(runner.probeMs).toBeGreaterThanOrEqual(INLINE_BELOW_MS);
    } finally {
      await runner.close();
    }
  });

  it('makes zero inputs of the declared shapes for the probe', () => {
    expect(
      probeFeeds([
        { name: 'a', datatype: 'FP32', shape: [-1, 2] },
        { name: 'b', datatype: 'BYTES', shape: [2] },
        { name: 'c', datatype: 'INT64', shape: [] },
      ]),
    ).toEqual([
      { name: 'a', type: 'float32', dims: [1, 2], data: new Float32Array(2) },
      { name: 'b', type: 'string', dims: [2], data: ['', ''] },
      { name: 'c', type: 'int64', dims: [], data: new BigInt64Array(1) },
    ]);
    expect(probeFeeds([{ name: 'x', datatype: 'BF16', shape: [1] }])).toBeUndefined();
  });
});

describe('worker executor', () => {
  it('runs overlapping requests on every session at once and queues the rest', async () => {
    const runner = await openModel(demoModelFile(ANOMALY), worker2);
    try {
      const feed = toOrtValue('input', { datatype: 'FP32', shape: [1, 3, 224, 224], data: pixels(3 * 224 * 224, 1) } as Tensor);
      expect(runner.load()).toEqual({ running: 0, queued: 0 });
      const runs = Array.from({ length: 5 }, () => runner.run([feed], ['output']));
      expect(runner.load()).toEqual({ running: 2, queued: 3 });
      const outputs = await Promise.all(runs);
      expect(runner.load()).toEqual({ running: 0, queued: 0 });
      for (const [out] of outputs) expect(bytesOf(out?.data as Float32Array).equals(bytesOf(outputs[0]?.[0]?.data as Float32Array))).toBe(true);
    } finally {
      await runner.close();
    }
  });

  it('moves a movable feed to the worker and copies any other', async () => {
    const runner = await openModel(demoModelFile(CLASSIFIER), resolveRuntimeOptions({ nireq: 1, pluginConfig: { executor: 'worker' } }, 2).options);
    try {
      const tensor = (): Tensor => ({ name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3], data: new Float32Array(12288).fill(7) });
      const moved = tensor();
      const kept = tensor();
      const [a] = await runner.run([toOrtValue('image_input', moved, true)], ['probability']);
      const [b] = await runner.run([toOrtValue('image_input', kept, false)], ['probability']);
      // moving detaches the caller's buffer: the proof no copy was made
      expect((moved.data as Float32Array).length).toBe(0);
      expect((kept.data as Float32Array).length).toBe(12288);
      expect(a?.data).toEqual(b?.data);
      // a view into a larger buffer is never moved, even when the caller allows it
      const big = new Float32Array(12288 * 2).fill(7);
      const view: Tensor = { name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3], data: big.subarray(12288) };
      expect(toOrtValue('image_input', view, true).movable).toBeUndefined();
      await runner.run([toOrtValue('image_input', view, true)], ['probability']);
      expect(big.length).toBe(12288 * 2);
    } finally {
      await runner.close();
    }
  });

  it('fails only the run whose feed onnxruntime refuses, and the thread serves on', async () => {
    const runner = await openModel(demoModelFile(CLASSIFIER), resolveRuntimeOptions({ nireq: 1, pluginConfig: { executor: 'worker' } }, 2).options);
    try {
      const bad = { name: 'image_input', type: 'float32' as const, dims: [1, 64, 64, 3], data: new Float32Array(5) };
      await expect(runner.run([bad], ['label'])).rejects.toThrow(/size|length/i);
      const good = toOrtValue('image_input', { datatype: 'FP32', shape: [1, 64, 64, 3], data: new Float32Array(12288) } as Tensor);
      await expect(runner.run([good], ['label'])).resolves.toHaveLength(1);
    } finally {
      await runner.close();
    }
  });

  it('rejects runs still queued when closed', async () => {
    const runner = await openModel(demoModelFile(ANOMALY), resolveRuntimeOptions({ nireq: 1, pluginConfig: { executor: 'worker' } }, 2).options);
    const feed = toOrtValue('input', { datatype: 'FP32', shape: [1, 3, 224, 224], data: pixels(3 * 224 * 224, 2) } as Tensor);
    const runs = Array.from({ length: 4 }, () => runner.run([feed], ['output']).then(() => 'ok', (e: Error) => e.message));
    await runner.close();
    const outcomes = await Promise.all(runs);
    expect(outcomes).toContain('the model was unloaded');
  });
});
