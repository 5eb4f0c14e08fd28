import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBundle } from './bundle-manifest';
import { crossCheck } from './cross-check';
import { parseSignature } from './signature';

const signature = parseSignature(readFileSync(join(__dirname, '..', 'test', 'fixtures', 'design-signature.yaml'), 'utf8'), 'sig.yaml');

describe('crossCheck', () => {
  it('finds nothing when both files name the same models on compatible engines', () => {
    const bundle = parseBundle(
      'name: d\nsignature: sig.yaml\nsource: gs://bucket\nmodels:\n  - {id: 6687ad3b04248f708c1e0c95, engine: triton}\n  - {id: 6684168e04248f708c1e0c93, engine: tfserving}\n',
      'bundle.yaml',
    );
    expect(crossCheck(bundle, signature)).toEqual({ onlyInBundle: [], onlyInSignature: [], protocolMismatches: [], issues: [] });
  });

  it('reports models in one file only and protocol mismatches, positioned in their files', () => {
    const bundle = parseBundle(
      'name: d\nsignature: sig.yaml\nsource: gs://bucket\nmodels:\n  - {id: 6687ad3b04248f708c1e0c95, engine: tfserving}\n  - {id: extra1, engine: ovms}\n',
      'bundle.yaml',
    );
    const report = crossCheck(bundle, signature);
    expect(report.onlyInBundle).toEqual(['extra1']);
    expect(report.onlyInSignature).toEqual(['6684168e04248f708c1e0c93']);
    expect(report.protocolMismatches).toEqual([{ id: '6687ad3b04248f708c1e0c95', engine: 'tfserving', backendInferenceEngine: 'triton' }]);
    expect(report.issues).toEqual([
      {
        file: 'bundle.yaml',
        line: 5,
        column: 5,
        path: 'models[0]',
        message: "engine tfserving speaks tfs-predict, but the signature's backendInferenceEngine triton expects kserve-v2",
      },
      { file: 'bundle.yaml', line: 6, column: 5, path: 'models[1]', message: "model 'extra1' is not in the signature sig.yaml" },
      {
        file: 'sig.yaml',
        line: 22,
        column: 9,
        path: 'models.photo-fraud-classifier.models[0]',
        message: "model '6684168e04248f708c1e0c93' is not deployed by bundle.yaml",
      },
    ]);
  });
});
