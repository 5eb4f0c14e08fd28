import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  BUNDLE_FILE,
  modelFilePath,
  renderManifestYaml,
  renderReadme,
  renderSignatureYaml,
  SAMPLES_DIR,
  SIGNATURE_FILE,
} from './bundle-documents';
import { DEMO_MODELS, type DemoModel } from './demo-models';
import { renderSampleImages } from './sample-images';

export const README_FILE = 'README.md';

export interface DemoBundleFile {
  /** Posix path relative to the bundle directory. */
  path: string;
  bytes: Uint8Array;
  /** False for the model files: they are large and gitignored, and rebuilt by `npm run build`. */
  committed: boolean;
}

export interface BundleDifference {
  path: string;
  problem: 'missing' | 'differs' | 'unexpected';
}

const utf8 = new TextEncoder();

/** Every file of the demo bundle, in memory, in a fixed order. */
export async function renderDemoBundle(models: readonly DemoModel[] = DEMO_MODELS): Promise<DemoBundleFile[]> {
  const modelFiles = models.map((model) => ({ model, bytes: model.build() }));
  const samples = await renderSampleImages();
  const readme = renderReadme(
    modelFiles.map(({ model, bytes }) => ({
      model,
      sizeBytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    })),
    samples,
  );
  return [
    ...modelFiles.map(({ model, bytes }) => ({ path: modelFilePath(model.id), bytes, committed: false })),
    { path: BUNDLE_FILE, bytes: utf8.encode(renderManifestYaml(models)), committed: true },
    { path: SIGNATURE_FILE, bytes: utf8.encode(renderSignatureYaml(models)), committed: true },
    { path: README_FILE, bytes: utf8.encode(readme), committed: true },
    ...samples.map((s) => ({ path: `${SAMPLES_DIR}/${s.fileName}`, bytes: s.bytes, committed: true })),
  ];
}

async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Writes the bundle under `outDir`. Each file is replaced by rename, so a server reading the model
 * repository never sees a half-written model; unchanged files are left untouched.
 */
export async function writeDemoBundle(outDir: string, files?: readonly DemoBundleFile[]): Promise<readonly DemoBundleFile[]> {
  const rendered = files ?? (await renderDemoBundle());
  for (const file of rendered) {
    const target = join(outDir, ...file.path.split('/'));
    const existing = await readIfExists(target);
    if (existing?.equals(file.bytes)) continue;
    await mkdir(dirname(target), { recursive: true });
    const partial = `${target}.partial-${process.pid}`;
    await writeFile(partial, file.bytes);
    await rename(partial, target);
  }
  return rendered;
}

/**
 * Regenerates the bundle (or writes `files`, already rendered) into a temporary directory and
 * byte-compares the committed files (YAML, README, samples) of `bundleDir` with it; an empty list
 * means they are up to date.
 */
export async function checkDemoBundle(bundleDir: string, files?: readonly DemoBundleFile[]): Promise<BundleDifference[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'bundlegate-demo-'));
  try {
    const generated = (await writeDemoBundle(scratch, files)).filter((f) => f.committed);
    const differences: BundleDifference[] = [];
    for (const file of generated) {
      const fresh = await readFile(join(scratch, ...file.path.split('/')));
      const committed = await readIfExists(join(bundleDir, ...file.path.split('/')));
      if (committed === undefined) differences.push({ path: file.path, problem: 'missing' });
      else if (!committed.equals(fresh)) differences.push({ path: file.path, problem: 'differs' });
    }
    const expectedSamples = new Set(generated.map((f) => f.path));
    const present = await readdir(join(bundleDir, SAMPLES_DIR)).catch(() => [] as string[]);
    for (const name of present.sort()) {
      const path = `${SAMPLES_DIR}/${name}`;
      if (!expectedSamples.has(path)) differences.push({ path, problem: 'unexpected' });
    }
    return differences;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
