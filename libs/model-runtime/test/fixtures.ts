import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@bundlegate/service-kit';

// Shared by this lib's specs: the demo bundle's models and samples, scratch repositories, a log you can read.

export const REPO_ROOT = resolve(__dirname, '../../..');
const MODELS = join(REPO_ROOT, 'deploy/demo/bucket/models');
export const SAMPLES = join(REPO_ROOT, 'deploy/demo/samples');

/** visual-anomaly: `input` FP32 [1,3,224,224] → `output` FP32 [1,14,14,768]. */
export const ANOMALY = '6687ad3b04248f708c1e0c95';
/** photo-fraud-classifier: `image_input` FP32 [1,64,64,3] → `label` BYTES [1], `probability` FP32 [1]. */
export const CLASSIFIER = '6684168e04248f708c1e0c93';

export function demoModelFile(id: string): string {
  return join(MODELS, id, '1', 'model.onnx');
}

/** A scratch directory removed by the returned function. */
export async function scratchDir(prefix = 'model-runtime-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Copies a demo model into `<base>/<version>/model.onnx`. */
export async function addVersion(base: string, version: number, id: string): Promise<string> {
  const dir = join(base, String(version));
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'model.onnx');
  await copyFile(demoModelFile(id), file);
  return file;
}

/** Writes a file that is not an ONNX model into `<base>/<version>/model.onnx`. */
export async function addBrokenVersion(base: string, version: number): Promise<string> {
  const dir = join(base, String(version));
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'model.onnx');
  await writeFile(file, 'not an onnx model');
  return file;
}

export interface CapturedLog {
  readonly logger: Logger;
  /** Every line written so far, parsed. */
  lines(): Record<string, unknown>[];
}

/** A real service-kit logger whose JSON lines a test can read back. */
export function captureLog(level: 'info' | 'debug' | 'warn' = 'info'): CapturedLog {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ service: 'model-runtime-test', level, destination });
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/** Polls `check` until it returns true or `timeoutMs` passes. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
