import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BundleFileError } from './bundle-file-error';
import { loadBundleFile, parseBundle, type BundleManifest } from './bundle-manifest';
import { BUNDLE_SCHEMA } from './schema-validator';

const TRITON_OPTIONS = Object.keys((BUNDLE_SCHEMA['$defs'] as Record<string, { properties: object }>)['tritonOptions']?.properties ?? {});

const FIXTURES = join(__dirname, '..', 'test', 'fixtures');

function issuesOf(fn: () => unknown): BundleFileError {
  try {
    fn();
  } catch (error) {
    if (error instanceof BundleFileError) return error;
    throw error;
  }
  throw new Error('expected a BundleFileError');
}

describe('parseBundle', () => {
  it('accepts the DESIGN.md minimal bundle.yaml and applies the defaults', async () => {
    const file = join(FIXTURES, 'design-bundle.yaml');
    const bundle = parseBundle(await readFile(file, 'utf8'), file);
    expect(bundle).toEqual<BundleManifest>({
      file,
      dir: FIXTURES,
      name: 'demo',
      signature: join(FIXTURES, 'bundle-signature.yaml'),
      source: { scheme: 'file', path: '/srv/bucket/models', prefix: '/srv/bucket/models', uri: 'file:///srv/bucket/models' },
      models: [
        {
          id: '6687ad3b04248f708c1e0c95',
          engine: 'onnx-serving',
          source: { scheme: 'file', path: '/srv/bucket/models', prefix: '/srv/bucket/models', uri: 'file:///srv/bucket/models' },
          replicas: 1,
          image: null,
          encrypted: false,
          version: null,
          options: {},
          location: { file, line: 5, column: 5, path: 'models[0]' },
        },
      ],
    });
  });

  it('resolves relative paths against the file directory, and per-model sources override the default', () => {
    const text = [
      'name: local',
      'signature: ../signatures/sig.yaml',
      'source: file://./bucket',
      'models:',
      '  - id: a1',
      '    engine: ovms',
      '    replicas: 3',
      '    image: registry.local/ovms:2024.4',
      '    encrypted: true',
      '    version: 2',
      '  - id: b2',
      '    engine: tfserving',
      '    source: s3://models-bucket/team/cv/',
      '    options: {}',
      '',
    ].join('\n');
    const bundle = parseBundle(text, '/deploy/demo/bundle.yaml');
    expect(bundle.signature).toBe('/deploy/signatures/sig.yaml');
    expect(bundle.source).toEqual({ scheme: 'file', path: '/deploy/demo/bucket', prefix: '/deploy/demo/bucket', uri: 'file:///deploy/demo/bucket' });
    expect(bundle.models.map(({ location: _, ...m }) => m)).toEqual([
      {
        id: 'a1',
        engine: 'ovms',
        source: { scheme: 'file', path: '/deploy/demo/bucket', prefix: '/deploy/demo/bucket', uri: 'file:///deploy/demo/bucket' },
        replicas: 3,
        image: 'registry.local/ovms:2024.4',
        encrypted: true,
        version: 2,
        options: {},
      },
      {
        id: 'b2',
        engine: 'tfserving',
        source: { scheme: 's3', bucket: 'models-bucket', prefix: 'team/cv', uri: 's3://models-bucket/team/cv' },
        replicas: 1,
        image: null,
        encrypted: false,
        version: null,
        options: {},
      },
    ]);
  });

  it('needs a source for every model', () => {
    const text = 'name: x\nsignature: s.yaml\nmodels:\n  - id: a1\n    engine: triton\n  - id: b2\n    engine: triton\n    source: gs://bucket\n';
    expect(issuesOf(() => parseBundle(text, 'b.yaml')).issues).toEqual([
      {
        file: 'b.yaml',
        line: 4,
        column: 5,
        path: 'models[0]',
        message: 'no source: give this model a source or set a default source at the top of the file',
      },
    ]);
  });

  it('explains a bad source URI at its line', () => {
    const text = 'name: x\nsignature: s.yaml\nsource: gs://Bucket/models\nmodels:\n  - id: a1\n    engine: triton\n    source: https://example.com/m\n';
    expect(issuesOf(() => parseBundle(text, 'b.yaml')).issues.map((i) => [i.line, i.column, i.path, i.message])).toEqual([
      [
        3,
        9,
        'source',
        "'Bucket' is not a Cloud Storage bucket name: 3-63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit",
      ],
      [7, 13, 'models[0].source', 'HTTP sources are not supported; expected gs://bucket/prefix, s3://bucket/prefix, file:///absolute/dir or file://./relative/dir'],
    ]);
  });

  it('reports every problem at once: misspelled field, unknown engine, duplicate id, options', () => {
    const text = [
      'name: demo',
      'signature: s.yaml',
      'source: s3://bucket/models',
      'models:',
      '  - id: a1',
      '    engine: ovms',
      '    replica: 2',
      '  - id: a1',
      '    engine: onnxserving',
      '  - id: c3',
      '    engine: triton',
      '    options: {maxBatch: 4}',
      '',
    ].join('\n');
    const error = issuesOf(() => parseBundle(text, 'bundle.yaml'));
    expect(error.message).toBe(
      [
        '4 problems in bundle.yaml',
        "bundle.yaml:7:5: models[0].replica: unknown field 'replica' (did you mean 'replicas'?); allowed: id, engine, source, replicas, image, encrypted, version, resources, gpus, environment, args, options",
        "bundle.yaml:8:9: models[1].id: duplicate model id 'a1' (first at line 5)",
        "bundle.yaml:9:13: models[1].engine: 'onnxserving' is not one of: ovms, onnx-serving, triton, tfserving (did you mean 'onnx-serving'?)",
        `bundle.yaml:12:15: models[2].options.maxBatch: unknown field 'maxBatch'; allowed: ${TRITON_OPTIONS.join(', ')}`,
      ].join('\n'),
    );
  });

  it('keeps model ids DNS-safe, since they name services', () => {
    const text = 'name: demo\nsignature: s.yaml\nsource: gs://bucket\nmodels:\n  - id: My_Model\n    engine: ovms\n';
    expect(issuesOf(() => parseBundle(text, 'b.yaml')).issues).toEqual([
      expect.objectContaining({ line: 5, path: 'models[0].id', message: expect.stringMatching(/^'My_Model' is not valid: Model id: lowercase/) }),
    ]);
  });
});

describe('loadBundleFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bundle-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads the bundle and the signature it names', async () => {
    await mkdir(join(dir, 'conf'));
    await writeFile(join(dir, 'conf', 'bundle-signature.yaml'), await readFile(join(FIXTURES, 'design-signature.yaml')));
    await writeFile(join(dir, 'bundle.yaml'), 'name: demo\nsignature: conf/bundle-signature.yaml\nsource: file://./bucket\nmodels:\n  - id: 6687ad3b04248f708c1e0c95\n    engine: triton\n');
    const { bundle, signature } = await loadBundleFile(join(dir, 'bundle.yaml'));
    expect(bundle.source).toMatchObject({ scheme: 'file', path: join(dir, 'bucket') });
    expect(signature.file).toBe(join(dir, 'conf', 'bundle-signature.yaml'));
    expect(signature.bundles.flatMap((b) => b.models.map((m) => m.id))).toEqual(['6687ad3b04248f708c1e0c95', '6684168e04248f708c1e0c93']);
  });

  it('reports a missing signature at the signature field', async () => {
    const file = join(dir, 'bundle.yaml');
    await writeFile(file, 'name: demo\nsignature: nowhere.yaml\nsource: gs://bucket\nmodels:\n  - id: a1\n    engine: triton\n');
    await expect(loadBundleFile(file)).rejects.toMatchObject({
      issues: [{ file, line: 2, column: 12, path: 'signature', message: `signature file ${join(dir, 'nowhere.yaml')} not found` }],
    });
  });

  it('reports the problems of both files in one error', async () => {
    const file = join(dir, 'bundle.yaml');
    const signatureFile = join(dir, 'sig.yaml');
    await writeFile(file, 'name: demo\nsignature: sig.yaml\nmodels:\n  - id: a1\n    engine: triton\n    version: 0\n');
    await writeFile(signatureFile, 'models:\n  b:\n    backendInferenceEngine: onnx\n    models: []\n');
    const error: unknown = await loadBundleFile(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BundleFileError);
    expect((error as BundleFileError).issues.map((i) => [i.file, i.line, i.path])).toEqual([
      [file, 4, 'models[0]'],
      [file, 6, 'models[0].version'],
      [signatureFile, 4, 'models.b.models'],
    ]);
    expect((error as BundleFileError).message.split('\n')[0]).toBe(`3 problems in ${file}, ${signatureFile}`);
  });

  it('names a missing bundle file', async () => {
    await expect(loadBundleFile(join(dir, 'absent.yaml'))).rejects.toThrow(`${join(dir, 'absent.yaml')}:1:1: (root): file not found`);
  });
});
