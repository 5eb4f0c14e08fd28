import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BundleFileError } from './bundle-file-error';
import { planSignature, type SignaturePlan } from './io-plan';
import { loadSignatureFile, parseSignature } from './signature';

const FIXTURE = join(__dirname, '..', 'test', 'fixtures', 'design-signature.yaml');
const designText = readFileSync(FIXTURE, 'utf8');

/** The BundleFileError thrown by `fn`. */
function issuesOf(fn: () => unknown): BundleFileError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BundleFileError) return error;
    throw error;
  }
  throw new Error('expected a BundleFileError');
}

const parseText = (text: string) => issuesOf(() => parseSignature(text, 'sig.yaml'));

const DESIGN_PLAN: SignaturePlan = {
  bundles: [
    {
      name: 'visual-anomaly',
      backendInferenceEngine: 'triton',
      models: [
        {
          modelId: '6687ad3b04248f708c1e0c95',
          bundleName: 'visual-anomaly',
          engine: 'triton',
          protocol: 'kserve-v2',
          inputs: [
            {
              typeId: 'Image',
              key: 'input',
              name: null,
              tensor: 'input',
              datatype: 'FP32',
              shape: [1, 3, 224, 224],
              preprocess: {
                layout: 'NCHW',
                channelOrder: 'RGB',
                resize: { height: 224, width: 224 },
                scale: [1, 1, 1],
                mean: [0, 0, 0],
                std: [1, 1, 1],
                maxPixels: null,
              },
            },
          ],
          outputs: [
            {
              typeId: 'GridEmbedding',
              name: null,
              reads: ['output'],
              map: { kind: 'grid', tensor: 'output', rows: 14, cols: 14, channels: 768, layout: 'HWC' },
            },
          ],
        },
      ],
    },
    {
      name: 'photo-fraud-classifier',
      backendInferenceEngine: 'tfServing',
      models: [
        {
          modelId: '6684168e04248f708c1e0c93',
          bundleName: 'photo-fraud-classifier',
          engine: 'tfServing',
          protocol: 'tfs-predict',
          inputs: [{ typeId: 'Image', key: 'image_input', name: null, tensor: 'image_input', datatype: 'BYTES', shape: [1], preprocess: null }],
          outputs: [
            {
              typeId: 'MaxClassification',
              name: null,
              reads: ['label', 'probability'],
              map: { kind: 'labelAndScore', labelTensor: 'label', scoreTensor: 'probability' },
            },
          ],
        },
      ],
    },
  ],
};

/** A one-model signature around the given input and output entries (YAML block text, indented 12). */
function oneModel(inputs: string, outputs = '            - typeId: Tensor\n              params: {keyName: out}\n', engine = 'ovms'): string {
  return [
    'models:',
    '  b:',
    `    backendInferenceEngine: ${engine}`,
    '    models:',
    '      - id: m1',
    '        modelSgn:',
    '          inputs:',
    inputs.trimEnd(),
    '          outputs:',
    outputs.trimEnd(),
    '',
  ].join('\n');
}

describe('parseSignature on the DESIGN.md example', () => {
  it('derives the whole I/O plan', () => {
    expect(planSignature(parseSignature(designText, FIXTURE))).toEqual(DESIGN_PLAN);
  });

  it('keeps bundles and models in file order with their positions', () => {
    const signature = parseSignature(designText, 'design.yaml');
    expect(signature.bundles.map((b) => [b.name, b.backendInferenceEngine])).toEqual([
      ['visual-anomaly', 'triton'],
      ['photo-fraud-classifier', 'tfServing'],
    ]);
    expect(signature.bundles[1]?.models[0]?.location).toEqual({
      file: 'design.yaml',
      line: 22,
      column: 9,
      path: 'models.photo-fraud-classifier.models[0]',
    });
  });

  it('loads the same from disk', async () => {
    const loaded = await loadSignatureFile(FIXTURE);
    expect(planSignature(loaded)).toEqual(DESIGN_PLAN);
    expect(loaded.file).toBe(FIXTURE);
  });

  it('names a missing file', async () => {
    await expect(loadSignatureFile('/nonexistent/bundle-signature.yaml')).rejects.toThrow(
      '/nonexistent/bundle-signature.yaml:1:1: (root): file not found',
    );
  });
});

describe('parseSignature errors', () => {
  it('catches a misspelled param with its path, line and the allowed names', () => {
    const error = parseText(designText.replace('imageInputKey: input', 'imageInputKy: input'));
    expect(error.issues).toEqual([
      {
        file: 'sig.yaml',
        line: 11,
        column: 17,
        path: 'models.visual-anomaly.models[0].modelSgn.inputs[0].params.imageInputKy',
        message:
          "unknown field 'imageInputKy' (did you mean 'imageInputKey'?); allowed: imageInputKey, decodeJpeg, dtype, mean, std, scale, maxPixels",
      },
    ]);
    expect(error.message).toBe(
      '1 problem in sig.yaml\n' +
        "sig.yaml:11:17: models.visual-anomaly.models[0].modelSgn.inputs[0].params.imageInputKy: unknown field 'imageInputKy' (did you mean 'imageInputKey'?); allowed: imageInputKey, decodeJpeg, dtype, mean, std, scale, maxPixels",
    );
  });

  it('reports malformed YAML at its line', () => {
    expect(parseText(designText.replace('channelOrder: RGB', 'channelOrder: RGB: BGR')).issues).toEqual([
      { file: 'sig.yaml', line: 14, column: 33, path: '', message: 'Nested mappings are not allowed in compact mappings' },
    ]);
    const tabbed = parseText(designText.replace('  photo-fraud-classifier:', '  photo-fraud-classifier:\n\t  x: 1'));
    expect(tabbed.issues[0]).toEqual({ file: 'sig.yaml', line: 20, column: 1, path: '', message: 'Tabs are not allowed as indentation' });
    expect(tabbed.message).toContain('sig.yaml:20:1: (root): Tabs are not allowed as indentation');
  });

  it('reports duplicate keys as YAML errors with the key path', () => {
    const error = parseText(designText.replace('channelOrder: RGB', 'channelOrder: RGB\n                  channelOrder: BGR'));
    expect(error.issues).toEqual([
      expect.objectContaining({ line: 15, column: 19, message: 'Map keys must be unique' }),
    ]);
    expect(error.issues[0]?.path).toBe('models.visual-anomaly.models[0].modelSgn.inputs[0].params.decodeJpeg.channelOrder');
  });

  it('reports every problem of the file at once, in line order', () => {
    const text = designText
      .replace('backendInferenceEngine: triton\n        modelSgn', 'backendInferenceEngine: trition\n        modelSgn')
      .replace('rows: 14', 'rows: 0')
      .replace('typeId: MaxClassification', 'typeId: MaxClass');
    const error = parseText(text);
    expect(error.issues.map((i) => [i.line, i.path, i.message])).toEqual([
      [6, 'models.visual-anomaly.models[0].backendInferenceEngine', "'trition' is not one of: triton, tfServing, ovms, kserve, onnx (did you mean 'triton'?)"],
      [18, 'models.visual-anomaly.models[0].modelSgn.outputs[0].params.rows', 'must be >= 1 (got 0)'],
      [29, 'models.photo-fraud-classifier.models[0].modelSgn.outputs[0].typeId', "'MaxClass' is not one of: MaxClassification, GridEmbedding, Tensor"],
    ]);
    expect(error.message.split('\n')).toHaveLength(4);
  });

  it('names the allowed type ids for an unknown input typeId', () => {
    const error = parseText(oneModel('            - typeId: Text\n              params: {textInputKey: t}\n'));
    expect(error.issues).toEqual([
      expect.objectContaining({ line: 8, path: 'models.b.models[0].modelSgn.inputs[0].typeId', message: "'Text' is not one of: Image, Quad, Scalar, Tensor" }),
    ]);
  });

  it('rejects duplicate model ids across bundles, pointing at the second', () => {
    const text = designText.replace('id: 6684168e04248f708c1e0c93', 'id: 6687ad3b04248f708c1e0c95');
    expect(parseText(text).issues).toEqual([
      {
        file: 'sig.yaml',
        line: 22,
        column: 13,
        path: 'models.photo-fraud-classifier.models[0].id',
        message: "duplicate model id '6687ad3b04248f708c1e0c95' (first at line 5, bundle 'visual-anomaly')",
      },
    ]);
  });

  it('rejects two inputs with the same request key', () => {
    const inputs = [
      '            - typeId: Scalar',
      '              name: threshold',
      '              params: {scalarInputKey: t1}',
      '            - typeId: Scalar',
      '              name: threshold',
      '              params: {scalarInputKey: t2}',
    ].join('\n');
    expect(parseText(oneModel(inputs)).issues).toEqual([
      expect.objectContaining({ line: 12, path: 'models.b.models[0].modelSgn.inputs[1].name', message: expect.stringContaining("duplicate input key 'threshold'") }),
    ]);
  });

  it('needs classNameOutput unless labels are given', () => {
    const outputs = '            - typeId: MaxClassification\n              params: {scoreOutput: prob}\n';
    expect(parseText(oneModel('            - typeId: Scalar\n              params: {scalarInputKey: x}\n', outputs)).issues).toEqual([
      expect.objectContaining({
        line: 12,
        path: 'models.b.models[0].modelSgn.outputs[0].params.classNameOutput',
        message: "missing required field 'classNameOutput' (needed unless labels is given)",
      }),
    ]);
  });

  it('says what an empty value should have been', () => {
    const error = parseText(oneModel('            - typeId: Image\n              params:\n                imageInputKey:\n'));
    expect(error.issues).toEqual([
      expect.objectContaining({ line: 10, path: 'models.b.models[0].modelSgn.inputs[0].params.imageInputKey', message: 'must be a string, but it is empty' }),
    ]);
  });

  it('allows normalisation only with decodeJpeg and a float dtype, and never std 0', () => {
    const noDecode = parseText(oneModel('            - typeId: Image\n              params: {imageInputKey: img, mean: 127.5}\n'));
    expect(noDecode.issues.map((i) => [i.path, i.message])).toEqual([
      ['models.b.models[0].modelSgn.inputs[0].params.mean', "only allowed together with 'decodeJpeg'"],
    ]);
    const uint8 = parseText(
      oneModel('            - typeId: Image\n              params: {imageInputKey: img, decodeJpeg: {}, dtype: UINT8, std: [1, 0, 1]}\n'),
    );
    expect(uint8.issues.map((i) => [i.path, i.message])).toEqual([
      ['models.b.models[0].modelSgn.inputs[0].params.std', 'needs dtype FP32 or FP16: UINT8 sends the raw 0-255 pixel values'],
      ['models.b.models[0].modelSgn.inputs[0].params.std', 'must not be 0 (it divides)'],
    ]);
  });

  it('checks per-channel arrays hold three numbers', () => {
    const error = parseText(oneModel('            - typeId: Image\n              params: {imageInputKey: img, decodeJpeg: {}, mean: [1, 2]}\n'));
    expect(error.issues.map((i) => i.message)).toEqual(['must have exactly 3 items (got 2)']);
  });

  it('checks a Quad shape holds eight elements', () => {
    const error = parseText(oneModel('            - typeId: Quad\n              params: {quadInputKey: q, shape: [1, 4, 3]}\n'));
    expect(error.issues.map((i) => [i.line, i.message])).toEqual([[9, 'a Quad has 8 elements, but shape [1, 4, 3] holds 12']]);
  });

  it('reports a whole document that is not a mapping', () => {
    expect(parseText('- a\n- b\n').issues).toEqual([{ file: 'sig.yaml', line: 1, column: 1, path: '', message: 'must be a mapping, not a list' }]);
    expect(parseText('').issues.map((i) => i.message)).toEqual(['must be a mapping, but it is empty']);
  });

  it('follows aliases: an unknown key at its definition, a missing key where the alias is used', () => {
    const text = [
      'models:',
      '  b:',
      '    backendInferenceEngine: onnx',
      '    models:',
      '      - id: m1',
      '        modelSgn:',
      '          inputs:',
      '            - typeId: Scalar',
      '              params: &p {scalarInputKey: x}',
      '          outputs:',
      '            - typeId: Tensor',
      '              params: *p',
      '',
    ].join('\n');
    const error = parseText(text);
    expect(error.issues.map((i) => [i.line, i.path])).toEqual([
      [9, 'models.b.models[0].modelSgn.outputs[0].params.scalarInputKey'],
      [12, 'models.b.models[0].modelSgn.outputs[0].params.keyName'],
    ]);
  });
});

describe('parseSignature values', () => {
  it('reads ids and labels as the text written, digits included', () => {
    const text = oneModel(
      '            - typeId: Scalar\n              params: {scalarInputKey: x}\n',
      '            - typeId: MaxClassification\n              params: {scoreOutput: p, labels: [0, 1, yes, 2.50]}\n',
    ).replace('id: m1', 'id: 668700000000000000000001');
    const model = parseSignature(text, 'sig.yaml').bundles[0]?.models[0];
    expect(model?.id).toBe('668700000000000000000001');
    expect(planSignature(parseSignature(text, 'sig.yaml')).bundles[0]?.models[0]?.outputs[0]?.map).toEqual({
      kind: 'argmax',
      scoreTensor: 'p',
      labels: ['0', '1', 'yes', '2.50'],
    });
  });

  it("defaults a model's engine to its bundle's", () => {
    const signature = parseSignature(oneModel('            - typeId: Scalar\n              params: {scalarInputKey: x}\n', undefined, 'tfServing'), 's.yaml');
    expect(signature.bundles[0]?.models[0]).toMatchObject({ backendInferenceEngine: 'tfServing', protocol: 'tfs-predict' });
  });

  it('plans every Bundlegate addition', () => {
    const inputs = [
      '            - typeId: Image',
      '              name: photo',
      '              params:',
      '                imageInputKey: pixels',
      '                decodeJpeg: {channelOrder: BGR}',
      '                dtype: FP16',
      '                scale: 0.00392156862745098',
      '                mean: [0.485, 0.456, 0.406]',
      '                std: [0.229, 0.224, 0.225]',
      '                maxPixels: 40000000',
      '            - typeId: Quad',
      '              params: {quadInputKey: corners, dtype: INT32}',
      '            - typeId: Scalar',
      '              params: {scalarInputKey: threshold, dtype: FP64, shape: [1, 1]}',
      '            - typeId: Tensor',
      '              name: mask',
      '              params: {tensorInputKey: mask_in, dtype: UINT8, shape: [1, -1, -1]}',
      '            - typeId: Tensor',
      '              params: {tensorInputKey: anything}',
    ].join('\n');
    const outputs = [
      '            - typeId: MaxClassification',
      '              name: kind',
      '              params: {classNameOutput: idx, scoreOutput: score, labels: [cat, dog]}',
      '            - typeId: GridEmbedding',
      '              params: {rows: 7, cols: 7, numChannels: 512, keyName: features, layout: CHW}',
      '            - typeId: Tensor',
      '              name: raw',
      '              params: {keyName: logits}',
    ].join('\n');
    const model = planSignature(parseSignature(oneModel(inputs, outputs), 's.yaml')).bundles[0]?.models[0];
    expect(model?.inputs).toEqual([
      {
        typeId: 'Image',
        key: 'photo',
        name: 'photo',
        tensor: 'pixels',
        datatype: 'FP16',
        shape: [1, -1, -1, 3],
        preprocess: {
          layout: 'NHWC',
          channelOrder: 'BGR',
          resize: null,
          scale: [0.00392156862745098, 0.00392156862745098, 0.00392156862745098],
          mean: [0.485, 0.456, 0.406],
          std: [0.229, 0.224, 0.225],
          maxPixels: 40000000,
        },
      },
      { typeId: 'Quad', key: 'corners', name: null, tensor: 'corners', datatype: 'INT32', shape: [1, 4, 2] },
      { typeId: 'Scalar', key: 'threshold', name: null, tensor: 'threshold', datatype: 'FP64', shape: [1, 1] },
      { typeId: 'Tensor', key: 'mask', name: 'mask', tensor: 'mask_in', datatype: 'UINT8', shape: [1, -1, -1] },
      { typeId: 'Tensor', key: 'anything', name: null, tensor: 'anything', datatype: 'FP32', shape: null },
    ]);
    expect(model?.outputs).toEqual([
      {
        typeId: 'MaxClassification',
        name: 'kind',
        reads: ['idx', 'score'],
        map: { kind: 'indexedLabel', indexTensor: 'idx', scoreTensor: 'score', labels: ['cat', 'dog'] },
      },
      { typeId: 'GridEmbedding', name: null, reads: ['features'], map: { kind: 'grid', tensor: 'features', rows: 7, cols: 7, channels: 512, layout: 'CHW' } },
      { typeId: 'Tensor', name: 'raw', reads: ['logits'], map: { kind: 'tensor', tensor: 'logits' } },
    ]);
  });
});
