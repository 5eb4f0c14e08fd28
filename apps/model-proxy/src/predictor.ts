import { bgError } from '@bundlegate/service-kit';
import type { InferenceBackend } from './backend';
import type { FriendlyValue } from './friendly-input';
import { mapOutputs, type FriendlyOutput } from './friendly-output';
import type { ProxyModel } from './model-catalog';

/** Milliseconds spent in each stage of one prediction. */
export interface Timings {
  /** Friendly inputs → backend tensors (image decode, resize, normalise). */
  readonly preprocessMs: number;
  /** The backend call: encoding, the gateway hop, inference, decoding. */
  readonly backendMs: number;
  /** Backend tensors → friendly outputs. */
  readonly postprocessMs: number;
  readonly totalMs: number;
}

export interface PredictResult {
  readonly modelId: string;
  readonly outputs: FriendlyOutput[];
  readonly timings: Timings;
}

export interface PredictOptions {
  readonly requestId?: string;
  /** Absolute deadline (ms since epoch); the default deadline from now when absent. */
  readonly deadline?: number;
}

/** Observes each finished stage, for metrics. */
export type StageObserver = (modelId: string, stage: 'preprocess' | 'backend' | 'postprocess', ms: number) => void;

export interface PredictorOptions {
  readonly backend: InferenceBackend;
  /** Backend call deadline when the caller sets none. */
  readonly deadlineMs: number;
  readonly observe?: StageObserver;
}

/** The one prediction path shared by HTTP and gRPC: check inputs, make tensors, call the backend, map outputs. */
export class Predictor {
  constructor(private readonly options: PredictorOptions) {}

  /** Missing and unexpected inputs first (one error naming the field), then each value in signature order. */
  checkInputs(model: ProxyModel, keys: Iterable<string>): void {
    const given = new Set(keys);
    for (const key of given) {
      if (model.input(key) === undefined) {
        throw bgError('BG_UNEXPECTED_INPUT', { field: key, expected: `only ${model.describeInputs()}` });
      }
    }
    for (const input of model.inputs) {
      if (!given.has(input.key)) throw bgError('BG_MISSING_INPUT', { field: input.key, expected: input.expected });
    }
  }

  async predict(model: ProxyModel, values: ReadonlyMap<string, FriendlyValue>, options: PredictOptions = {}): Promise<PredictResult> {
    const started = performance.now();
    this.checkInputs(model, values.keys());
    const tensors = await Promise.all(model.inputs.map((input) => input.toTensor(values.get(input.key) as FriendlyValue)));
    const encoded = performance.now();
    const raw = await this.options.backend.infer({
      model: model.plan,
      inputs: tensors,
      outputs: model.reads,
      deadline: options.deadline ?? Date.now() + this.options.deadlineMs,
      requestId: options.requestId,
    });
    const answered = performance.now();
    const outputs = mapOutputs(model.id, model.outputs, raw);
    const finished = performance.now();
    const timings = {
      preprocessMs: encoded - started,
      backendMs: answered - encoded,
      postprocessMs: finished - answered,
      totalMs: finished - started,
    };
    const observe = this.options.observe;
    if (observe !== undefined) {
      observe(model.id, 'preprocess', timings.preprocessMs);
      observe(model.id, 'backend', timings.backendMs);
      observe(model.id, 'postprocess', timings.postprocessMs);
    }
    return { modelId: model.id, outputs, timings };
  }
}
