import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { loadBundleFile, type LoadedBundle } from '@bundlegate/bundle';
import { composeBase, type GpuSelection } from './compose';
import { literalImages, nvidiaGpuCount, servingContainer } from './containers';
import { composeExample, EXAMPLE_FILES, servingVariables } from './compose-example';
import { pathFrom } from './text';

// Writes `generate compose` output: base/ replaced whole, example/ only where a file is missing.

export interface GenerateComposeOptions {
  readonly bundlePath: string;
  readonly outDir: string;
  readonly gpus?: GpuSelection;
  readonly registry?: string;
  readonly tag?: string;
  /** REL_DIR written to example/.env (default: the absolute path of example/). */
  readonly relDir?: string;
}

export interface GenerateComposeResult {
  readonly baseDir: string;
  readonly exampleDir: string;
  /** Files of base/, relative to it. */
  readonly baseFiles: readonly string[];
  /** Files of example/ written now (they did not exist). */
  readonly exampleWritten: readonly string[];
  /** Files of example/ left as they were. */
  readonly exampleKept: readonly string[];
  readonly warnings: readonly string[];
}

/** Writes every file of `files` under `dir`, creating directories. */
async function writeTree(dir: string, files: ReadonlyMap<string, string>): Promise<void> {
  for (const [path, content] of files) {
    const target = join(dir, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, content);
  }
}

/** Replaces `dir` with a directory holding exactly `files`; a reader never sees it half written. */
export async function replaceDirectory(dir: string, files: ReadonlyMap<string, string>): Promise<void> {
  const suffix = randomBytes(4).toString('hex');
  const fresh = join(dirname(dir), `.${dir.split(sep).pop() ?? 'out'}.new-${suffix}`);
  const old = join(dirname(dir), `.${dir.split(sep).pop() ?? 'out'}.old-${suffix}`);
  await rm(fresh, { recursive: true, force: true });
  try {
    await writeTree(fresh, files);
    if (existsSync(dir)) await rename(dir, old);
    await rename(fresh, dir);
  } finally {
    await rm(fresh, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
}

/** Settings of models that a kept conf/bundle/.env does not mention (their defaults apply). */
function missingConf(loaded: LoadedBundle, confText: string, gpus: GpuSelection | undefined): string[] {
  const warnings: string[] = [];
  for (const model of loaded.bundle.models) {
    const gpu = nvidiaGpuCount(servingContainer(model, literalImages()), gpus, model.id) !== null;
    const missing = servingVariables(model.id, gpu).filter((name) => !new RegExp(`^\\s*${name}=`, 'm').test(confText));
    if (missing.length > 0) warnings.push(`example/conf/bundle/.env has no ${missing.join(', ')}: defaults apply until you add them`);
  }
  return warnings;
}

export async function generateCompose(options: GenerateComposeOptions): Promise<GenerateComposeResult> {
  const bundlePath = resolve(options.bundlePath);
  const outDir = resolve(options.outDir);
  const baseDir = join(outDir, 'base');
  const exampleDir = join(outDir, 'example');
  const loaded = await loadBundleFile(bundlePath);
  const signatureText = await readFile(loaded.bundle.signature, 'utf8');

  const base = composeBase(loaded, signatureText, {
    baseDir,
    gpus: options.gpus,
    registry: options.registry,
    tag: options.tag,
    bundleLabel: pathFrom(baseDir, bundlePath),
  });
  await mkdir(outDir, { recursive: true });
  await replaceDirectory(baseDir, base.files);

  const regenerate = `bundlegate generate compose --bundle ${pathFrom(exampleDir, bundlePath)} --out ${pathFrom(exampleDir, outDir)}`;
  const example = composeExample(loaded, {
    relDir: options.relDir ?? exampleDir,
    gpus: options.gpus,
    registry: options.registry,
    tag: options.tag,
    regenerate,
    exampleDir,
  });
  const written: string[] = [];
  const kept: string[] = [];
  const warnings = [...base.warnings];
  for (const path of EXAMPLE_FILES) {
    const target = join(exampleDir, path);
    if (existsSync(target)) {
      kept.push(path);
      continue;
    }
    await mkdir(dirname(target), { recursive: true });
    // 'wx': never overwrite, even if the file appeared since the check
    await writeFile(target, example.get(path) ?? '', { flag: 'wx' });
    written.push(path);
  }
  if (kept.includes('conf/bundle/.env')) {
    warnings.push(...missingConf(loaded, await readFile(join(exampleDir, 'conf/bundle/.env'), 'utf8'), options.gpus));
  }
  return { baseDir, exampleDir, baseFiles: [...base.files.keys()].sort(), exampleWritten: written, exampleKept: kept, warnings };
}
