import * as ort from 'onnxruntime-node';
import { attr, GraphBuilder } from './onnx-graph';
import { float32Data } from './spec-helpers';

const OPTIONS = { irVersion: 7, opsetImports: [{ domain: '', version: 13 }], producerName: 'spec', producerVersion: '1' };

describe('GraphBuilder', () => {
  it('encodes a graph that onnxruntime runs with the declared names, types and values', async () => {
    const g = new GraphBuilder('affine');
    const x = g.input('x', 'float32', ['batch', 3]);
    const w = g.float32('w', Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]);
    const b = g.float32('b', Float32Array.of(0.5, -0.5), [2]);
    const y = g.op('Gemm', [x, w, b], { alpha: attr.float(2) }, 'y');
    g.op('ArgMax', [y], { axis: attr.int(1), keepdims: attr.int(0) }, 'best');
    const labels = g.strings('labels', ['left', 'right'], [2]);
    g.op('Gather', [labels, 'best'], { axis: attr.int(0) }, 'label');
    g.output('y', 'float32', ['batch', 2]);
    g.output('label', 'string', ['batch']);

    const session = await ort.InferenceSession.create(g.encode(OPTIONS));
    expect(session.inputNames).toEqual(['x']);
    expect(session.outputNames).toEqual(['y', 'label']);
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 0, 0, 0, 0, 1), [2, 3]) });
    // y = 2 * x·w + b
    expect(Array.from(float32Data(out['y']))).toEqual([2.5, 3.5, 10.5, 11.5]);
    expect(out['label']?.type).toBe('string');
    expect(out['label']?.data).toEqual(['right', 'right']);
    await session.release();
  });

  it('stores int64 constants that ops can consume', async () => {
    const g = new GraphBuilder('reshape');
    const x = g.input('x', 'float32', [2, 3]);
    g.op('Reshape', [x, g.int64('shape', [3, 2], [2])], {}, 'y');
    g.output('y', 'float32', [3, 2]);
    const session = await ort.InferenceSession.create(g.encode(OPTIONS));
    const out = await session.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [2, 3]) });
    expect(out['y']?.dims).toEqual([3, 2]);
    await session.release();
  });

  it('rejects a node reading a value defined nowhere before it', () => {
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [1]);
    expect(() => g.op('Add', ['x', 'missing'])).toThrow("add_0: input 'missing' is not defined before this node");
  });

  it('rejects a name defined twice, data that does not fill its shape, and an unproduced output', () => {
    const g = new GraphBuilder('bad');
    g.input('x', 'float32', [1]);
    expect(() => g.float32('x', Float32Array.of(1), [1])).toThrow("value 'x' is defined twice");
    expect(() => g.float32('w', Float32Array.of(1, 2, 3), [2, 2])).toThrow('3 values do not fill shape [2, 2]');
    expect(() => g.output('y', 'float32', [1])).toThrow("graph output 'y' is not produced by any node");
    expect(() => g.input('z', 'float32', [1.5])).toThrow(RangeError);
  });

  it('writes the opset imports, IR version and metadata into the model', () => {
    const g = new GraphBuilder('meta');
    g.op('Identity', [g.input('x', 'float32', [1])], {}, 'y');
    g.output('y', 'float32', [1]);
    const model = g.toModel({ ...OPTIONS, docString: 'doc', metadata: { seed: '1' } });
    expect(model.irVersion).toBe(7);
    expect(model.opsetImport).toEqual([{ domain: '', version: 13 }]);
    expect(model.metadataProps).toEqual([{ key: 'seed', value: '1' }]);
    expect(model.graph?.node?.[0]?.name).toBe('identity_0');
  });
});
