import type { ModelRunner } from './model-runner';
import type { RuntimeOptions } from './runtime-options';
import { openInlineRunner } from './runner-inline';
import { openWorkerRunner } from './runner-worker';

/** Loads an ONNX file with the executor, sessions and threads `options` name. */
export function openModel(file: string, options: RuntimeOptions): Promise<ModelRunner> {
  return options.executor === 'inline' ? openInlineRunner(file, options) : openWorkerRunner(file, options);
}

/** What loads a model file: `openModel` in production; tests may wrap it to observe loads. */
export type ModelOpener = (file: string, options: RuntimeOptions) => Promise<ModelRunner>;
