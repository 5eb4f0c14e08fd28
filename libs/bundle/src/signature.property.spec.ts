import fc from 'fast-check';
import YAML from 'yaml';
import { planSignature, type SignaturePlan } from './io-plan';
import { parseSignature } from './signature';
import type { InputEntry, OutputEntry, SignatureBundleEntry, SignatureDocument, SignatureModelEntry } from './signature-types';

// Text that YAML would misread if written plain: digits, booleans, nulls, colons, spaces at the ends.
const tricky = fc.constantFrom('0123', '1e5', 'true', 'null', '~', 'a: b', ' x', '#c', '-', '12.50', 'yes');
const word = fc.string({ minLength: 1, maxLength: 10, unit: fc.constantFrom(...'abcXYZ019_-:./ #'.split('')) });
const text = fc.oneof(word, tricky);
const modelId = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,23}$/),
  fc.constantFrom('0123', '668700000000000000000001', '1e5', '12.5', '0x1F'),
);
const engine = fc.constantFrom('triton', 'tfServing', 'ovms', 'kserve', 'onnx' as const);
const numericDtype = fc.constantFrom('FP16', 'FP32', 'FP64', 'INT8', 'INT16', 'INT32', 'INT64', 'UINT8', 'UINT16', 'UINT32', 'UINT64' as const);
const tensorDtype = fc.constantFrom('BOOL', 'UINT8', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES' as const);
const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((x) => x || 0);
const nonZero = finite.filter((x) => x !== 0);
const channelValues = (value: fc.Arbitrary<number>) => fc.oneof(value, fc.tuple(value, value, value));

const imageParams = fc.oneof(
  fc.record({ imageInputKey: text }),
  fc
    .record(
      {
        imageInputKey: text,
        decodeJpeg: fc.record(
          {
            channelFirstRaster: fc.boolean(),
            channelOrder: fc.constantFrom('RGB', 'BGR' as const),
            resize: fc.record({ height: fc.integer({ min: 1, max: 4096 }), width: fc.integer({ min: 1, max: 4096 }) }),
          },
          { requiredKeys: [] },
        ),
        dtype: fc.constantFrom('FP32', 'FP16' as const),
        mean: channelValues(finite),
        std: channelValues(nonZero),
        scale: channelValues(finite),
        maxPixels: fc.integer({ min: 1, max: 1e9 }),
      },
      { requiredKeys: ['imageInputKey', 'decodeJpeg'] },
    ),
  fc.record({ imageInputKey: text, decodeJpeg: fc.constant({}), dtype: fc.constant('UINT8' as const) }),
);

const input: fc.Arbitrary<InputEntry> = fc.oneof(
  fc.record({ typeId: fc.constant('Image' as const), name: text, params: imageParams }, { requiredKeys: ['typeId', 'params'] }),
  fc.record(
    {
      typeId: fc.constant('Quad' as const),
      name: text,
      params: fc.record(
        { quadInputKey: text, dtype: numericDtype, shape: fc.constantFrom<number[]>([1, 4, 2], [4, 2], [8], [2, 2, 2]) },
        { requiredKeys: ['quadInputKey'] },
      ),
    },
    { requiredKeys: ['typeId', 'params'] },
  ),
  fc.record(
    {
      typeId: fc.constant('Scalar' as const),
      name: text,
      params: fc.record({ scalarInputKey: text, dtype: numericDtype, shape: fc.constantFrom<number[]>([1], [1, 1]) }, { requiredKeys: ['scalarInputKey'] }),
    },
    { requiredKeys: ['typeId', 'params'] },
  ),
  fc.record(
    {
      typeId: fc.constant('Tensor' as const),
      name: text,
      params: fc.record(
        { tensorInputKey: text, dtype: tensorDtype, shape: fc.array(fc.integer({ min: -1, max: 64 }), { maxLength: 4 }) },
        { requiredKeys: ['tensorInputKey'] },
      ),
    },
    { requiredKeys: ['typeId', 'params'] },
  ),
);

const output: fc.Arbitrary<OutputEntry> = fc.oneof(
  fc.record(
    {
      typeId: fc.constant('MaxClassification' as const),
      name: text,
      params: fc.oneof(
        fc.record({ classNameOutput: text, scoreOutput: text }),
        fc.record({ scoreOutput: text, labels: fc.array(fc.oneof(text, fc.constant('')), { minLength: 1, maxLength: 5 }) }),
        fc.record({ classNameOutput: text, scoreOutput: text, labels: fc.array(text, { minLength: 1, maxLength: 5 }) }),
      ),
    },
    { requiredKeys: ['typeId', 'params'] },
  ),
  fc.record(
    {
      typeId: fc.constant('GridEmbedding' as const),
      name: text,
      params: fc.record(
        {
          rows: fc.integer({ min: 1, max: 64 }),
          cols: fc.integer({ min: 1, max: 64 }),
          numChannels: fc.integer({ min: 1, max: 4096 }),
          keyName: text,
          layout: fc.constantFrom('HWC', 'CHW' as const),
        },
        { requiredKeys: ['rows', 'cols', 'numChannels', 'keyName'] },
      ),
    },
    { requiredKeys: ['typeId', 'params'] },
  ),
  fc.record({ typeId: fc.constant('Tensor' as const), name: text, params: fc.record({ keyName: text }) }, { requiredKeys: ['typeId', 'params'] }),
);

const tensorOf = (entry: InputEntry): string =>
  'imageInputKey' in entry.params
    ? entry.params.imageInputKey
    : 'quadInputKey' in entry.params
      ? entry.params.quadInputKey
      : 'scalarInputKey' in entry.params
        ? entry.params.scalarInputKey
        : entry.params.tensorInputKey;

const distinct = (values: string[]) => new Set(values).size === values.length;

// Inputs need distinct request keys and backend tensors; named outputs need distinct names.
const modelSgn = fc.record({
  inputs: fc
    .array(input, { minLength: 1, maxLength: 4 })
    .filter((inputs) => distinct(inputs.map((i) => i.name ?? tensorOf(i))) && distinct(inputs.map(tensorOf))),
  outputs: fc.array(output, { minLength: 1, maxLength: 3 }).filter((outputs) => distinct(outputs.flatMap((o) => (o.name === undefined ? [] : [o.name])))),
});

const signatureDocument: fc.Arbitrary<SignatureDocument> = fc
  .uniqueArray(
    fc.record({
      name: text,
      backendInferenceEngine: engine,
      models: fc.array(fc.record({ backendInferenceEngine: engine, modelSgn }, { requiredKeys: ['modelSgn'] }), { minLength: 1, maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 3, selector: (b) => b.name },
  )
  .chain((bundles) => {
    const count = bundles.reduce((n, b) => n + b.models.length, 0);
    return fc.uniqueArray(modelId, { minLength: count, maxLength: count }).map((ids) => {
      let next = 0;
      const models: Record<string, SignatureBundleEntry> = {};
      for (const { name, backendInferenceEngine, models: entries } of bundles) {
        models[name] = {
          backendInferenceEngine,
          models: entries.map((m): SignatureModelEntry => ({ id: ids[next++] ?? '', ...m })),
        };
      }
      return { models };
    });
  });

const yamlStyle = fc.record({
  collectionStyle: fc.constantFrom('any', 'block', 'flow' as const),
  defaultStringType: fc.constantFrom('PLAIN', 'QUOTE_DOUBLE', 'QUOTE_SINGLE' as const),
  indent: fc.integer({ min: 2, max: 4 }),
});

describe('signature round trip', () => {
  it('any valid signature dumped to YAML parses back to the same plan, whatever the YAML style', () => {
    fc.assert(
      fc.property(signatureDocument, yamlStyle, (doc, style) => {
        const fromYaml = planSignature(parseSignature(YAML.stringify(doc, style), 'sig.yaml'));
        const fromJson = planSignature(parseSignature(JSON.stringify(doc), 'sig.json'));
        expect(fromYaml).toEqual(fromJson);
        expect(JSON.parse(JSON.stringify(fromYaml))).toEqual(fromYaml);
        expectPlanMatches(doc, fromYaml);
      }),
      { numRuns: 100 },
    );
  });
});

/** The plan's facts that follow directly from the document, checked field by field. */
function expectPlanMatches(doc: SignatureDocument, plan: SignaturePlan): void {
  const bundles = Object.entries(doc.models);
  expect(plan.bundles.map((b) => b.name)).toEqual(bundles.map(([name]) => name));
  bundles.forEach(([, bundle], b) => {
    bundle.models.forEach((model, m) => {
      const planned = plan.bundles[b]?.models[m];
      const engineUsed = model.backendInferenceEngine ?? bundle.backendInferenceEngine;
      expect(planned).toMatchObject({ modelId: model.id, engine: engineUsed, protocol: engineUsed === 'tfServing' ? 'tfs-predict' : 'kserve-v2' });
      model.modelSgn.inputs.forEach((entry, i) => {
        const decoded = entry.typeId === 'Image' && entry.params.decodeJpeg !== undefined;
        const datatype = entry.typeId === 'Image' && !decoded ? 'BYTES' : (entry.params.dtype ?? 'FP32');
        expect(planned?.inputs[i]).toMatchObject({ typeId: entry.typeId, key: entry.name ?? tensorOf(entry), tensor: tensorOf(entry), datatype });
      });
      model.modelSgn.outputs.forEach((entry, o) => {
        const named = Object.entries(entry.params).flatMap(([k, v]) => (['classNameOutput', 'scoreOutput', 'keyName'].includes(k) ? [v as string] : []));
        expect(new Set(planned?.outputs[o]?.reads)).toEqual(new Set(named));
        expect(planned?.outputs[o]?.name).toBe(entry.name ?? null);
      });
    });
  });
}
