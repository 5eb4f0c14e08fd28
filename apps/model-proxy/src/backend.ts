import type { ModelIoPlan } from '@bundlegate/bundle';
import type { AnyTensor, Tensor } from '@bundlegate/tensors';

/** One inference: the model's plan, its input tensors (named by backend tensor) and the outputs to read. */
export interface InferCall {
  readonly model: ModelIoPlan;
  readonly inputs: readonly Tensor[];
  /** Backend tensor names to return. */
  readonly outputs: readonly string[];
  /** Absolute deadline (ms since epoch). */
  readonly deadline: number;
  /** Request id, forwarded to the backend where the protocol has a field for it. */
  readonly requestId?: string;
}

/** Where models run: across the gateway (KServe v2 / TF Serving Predict) or inside this process. */
export interface InferenceBackend {
  /** "gateway" or "in-process", for /api/v1/config and logs. */
  readonly kind: string;
  /** Output tensors by name; failures are registry errors (BG_UPSTREAM_*). */
  infer(call: InferCall): Promise<Map<string, AnyTensor>>;
  /** Whether the backend itself (the gateway) is serving. */
  ready(deadline: number): Promise<boolean>;
  /** Whether the backend reports this model ready. */
  modelReady(model: ModelIoPlan, deadline: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Output tensors by name; the first of a name wins. */
export function tensorsByName(tensors: readonly AnyTensor[]): Map<string, AnyTensor> {
  const out = new Map<string, AnyTensor>();
  for (const t of tensors) if (t.name !== undefined && !out.has(t.name)) out.set(t.name, t);
  return out;
}
