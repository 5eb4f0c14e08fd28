import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as ort from 'onnxruntime-node';
import { parse } from 'yaml';
import { BUNDLE_FILE, modelFilePath, SIGNATURE_FILE } from './bundle-documents';
import { checkDemoBundle, type DemoBundleFile, writeDemoBundle } from './demo-bundle';
import { DEMO_MODELS } from './demo-models';

const REPO_BUNDLE_DIR = join(__dirname, '..', '..', '..', 'deploy', 'demo');

interface ParsedSignature {
  models: Record<string, { backendInferenceEngine: string; models: { id: string; backendInferenceEngine: string; modelSgn: { inputs: { typeId: string; params: Record<string, unknown> }[]; outputs: { typeId: string; params: Record<string, unknown> }[] } }[] }>;
}
interface ParsedManifest {
  name: string;
  signature: string;
  source: string;
  models: { id: string; engine: string }[];
}

async function hashTree(dir: string): Promise<Map<string, string>> {
  const hashes = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    hashes.set(relative(dir, path), createHash('sha256').update(await readFile(path)).digest('hex'));
  }
  return hashes;
}

describe('demo bundle generation', () => {
  const scratch: string[] = [];
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'demo-bundle-spec-'));
    scratch.push(dir);
    return dir;
  }
  afterAll(() => Promise.all(scratch.map((d) => rm(d, { recursive: true, force: true }))));

  let first: string;
  let firstFiles: readonly DemoBundleFile[];
  let firstHashes: Map<string, string>;
  beforeAll(async () => {
    first = await tempDir();
    firstFiles = await writeDemoBundle(first);
    firstHashes = await hashTree(first);
  });

  it('writes byte-identical files on a second, independent run', async () => {
    const second = await tempDir();
    await writeDemoBundle(second);
    expect(await hashTree(second)).toEqual(firstHashes);
    expect([...firstHashes.keys()].sort()).toEqual(
      [
        'README.md',
        'bucket/models/6684168e04248f708c1e0c93/1/model.onnx',
        'bucket/models/6687ad3b04248f708c1e0c95/1/model.onnx',
        'bundle-signature.yaml',
        'bundle.yaml',
        'samples/checkerboard-640x480.png',
        'samples/gradient-320x240.jpg',
        'samples/night-320x240.jpg',
        'samples/shapes-640x480.jpg',
      ].map((p) => join(...p.split('/'))),
    );
  });

  it('writes a signature in the existing model-proxy shape naming both models', async () => {
    const signature = parse(await readFile(join(first, SIGNATURE_FILE), 'utf8')) as ParsedSignature;
    expect(Object.keys(signature.models)).toEqual(['visual-anomaly', 'photo-fraud-classifier']);
    expect(signature.models['visual-anomaly']).toEqual({
      backendInferenceEngine: 'triton',
      models: [
        {
          id: '6687ad3b04248f708c1e0c95',
          backendInferenceEngine: 'triton',
          modelSgn: {
            inputs: [
              {
                typeId: 'Image',
                params: {
                  imageInputKey: 'input',
                  decodeJpeg: { channelFirstRaster: true, channelOrder: 'RGB', resize: { height: 224, width: 224 } },
                },
              },
            ],
            outputs: [{ typeId: 'GridEmbedding', params: { rows: 14, cols: 14, numChannels: 768, keyName: 'output' } }],
          },
        },
      ],
    });
    expect(signature.models['photo-fraud-classifier']).toEqual({
      backendInferenceEngine: 'tfServing',
      models: [
        {
          id: '6684168e04248f708c1e0c93',
          backendInferenceEngine: 'tfServing',
          modelSgn: {
            inputs: [{ typeId: 'Image', params: { imageInputKey: 'image_input' } }],
            outputs: [{ typeId: 'MaxClassification', params: { classNameOutput: 'label', scoreOutput: 'probability' } }],
          },
        },
      ],
    });
  });

  it('writes a bundle.yaml naming the same ids, whose relative source holds their model files', async () => {
    const manifest = parse(await readFile(join(first, BUNDLE_FILE), 'utf8')) as ParsedManifest;
    const signature = parse(await readFile(join(first, SIGNATURE_FILE), 'utf8')) as ParsedSignature;
    expect(manifest.name).toBe('demo');
    expect(manifest.signature).toBe('bundle-signature.yaml');
    expect(manifest.models).toEqual([
      { id: '6687ad3b04248f708c1e0c95', engine: 'onnx-serving' },
      { id: '6684168e04248f708c1e0c93', engine: 'onnx-serving' },
    ]);
    const signatureIds = Object.values(signature.models).flatMap((b) => b.models.map((m) => m.id));
    expect(manifest.models.map((m) => m.id)).toEqual(signatureIds);

    // file://./x is resolved against the bundle file's directory
    expect(manifest.source).toBe('file://./bucket/models');
    const sourceDir = fileURLToPath(new URL(manifest.source.slice('file://'.length), pathToFileURL(join(first, BUNDLE_FILE))));
    for (const { id } of manifest.models) {
      expect(await readdir(join(sourceDir, id, '1'))).toEqual(['model.onnx']);
    }
  });

  it('writes model files whose tensors are the ones their signature entries name', async () => {
    for (const model of DEMO_MODELS) {
      const session = await ort.InferenceSession.create(join(first, ...modelFilePath(model.id).split('/')));
      const inputKeys = model.signatureInputs.map((e) => e.params['imageInputKey']);
      const outputKeys = model.signatureOutputs.flatMap((e) =>
        e.typeId === 'GridEmbedding' ? [e.params['keyName']] : [e.params['classNameOutput'], e.params['scoreOutput']],
      );
      expect(session.inputNames).toEqual(inputKeys);
      expect(session.outputNames).toEqual(outputKeys);
      const grid = model.signatureOutputs.find((e) => e.typeId === 'GridEmbedding');
      if (grid !== undefined) {
        const meta = session.outputMetadata[0];
        expect(meta?.isTensor && meta.shape).toEqual([1, grid.params['rows'], grid.params['cols'], grid.params['numChannels']]);
      }
      await session.release();
    }
  });

  it('keeps the committed deploy/demo files identical to what the generator writes', async () => {
    expect(await checkDemoBundle(REPO_BUNDLE_DIR, firstFiles)).toEqual([]);
  });

  it('reports committed files that differ, are missing or are not generated', async () => {
    const dir = await tempDir();
    await writeDemoBundle(dir, firstFiles);
    await writeFile(join(dir, 'samples', 'gradient-320x240.jpg'), Buffer.from('not a jpeg'));
    await rm(join(dir, 'README.md'));
    await writeFile(join(dir, 'samples', 'stray.jpg'), Buffer.from('stray'));
    expect(await checkDemoBundle(dir, firstFiles)).toEqual([
      { path: 'README.md', problem: 'missing' },
      { path: 'samples/gradient-320x240.jpg', problem: 'differs' },
      { path: 'samples/stray.jpg', problem: 'unexpected' },
    ]);
  });
});
