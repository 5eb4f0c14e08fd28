import type { ModelCatalog } from './model-catalog';

// What GET /api/v1/config and bgv1 GetConfig return: the signature as loaded, with derived tensor facts and live
// readiness. Built from the signature only, so no setting (and no secret) can leak into it.

export interface InputView {
  readonly typeId: string;
  readonly key: string;
  readonly name?: string;
  /** Backend tensor the input feeds. */
  readonly tensor: string;
  readonly datatype: string;
  /** Tensor shape sent (-1: the image's own size), null when the request decides. */
  readonly shape: readonly number[] | null;
  /** The entry's params exactly as written in the signature. */
  readonly params: object;
}

export interface OutputView {
  readonly typeId: string;
  readonly name?: string;
  /** Backend tensors it reads. */
  readonly reads: readonly string[];
  readonly params: object;
}

export interface ModelView {
  readonly id: string;
  readonly backendInferenceEngine: string;
  readonly protocol: string;
  readonly ready: boolean;
  readonly inputs: readonly InputView[];
  readonly outputs: readonly OutputView[];
}

export interface BundleView {
  readonly name: string;
  readonly backendInferenceEngine: string;
  readonly models: readonly ModelView[];
}

export interface ConfigView {
  readonly backend: { readonly kind: string };
  readonly bundles: readonly BundleView[];
}

export function configView(catalog: ModelCatalog, backendKind: string, ready: ReadonlyMap<string, boolean>): ConfigView {
  return {
    backend: { kind: backendKind },
    bundles: catalog.bundles.map((bundle) => ({
      name: bundle.name,
      backendInferenceEngine: bundle.backendInferenceEngine,
      models: bundle.models.map((model) => ({
        id: model.id,
        backendInferenceEngine: model.engine,
        protocol: model.protocol,
        ready: ready.get(model.id) === true,
        inputs: model.inputs.map((input) => ({
          typeId: input.plan.typeId,
          key: input.key,
          ...(input.plan.name === null ? {} : { name: input.plan.name }),
          tensor: input.plan.tensor,
          datatype: input.plan.datatype,
          shape: input.plan.shape,
          params: input.entry.params,
        })),
        outputs: model.outputs.map((output, i) => ({
          typeId: output.typeId,
          ...(output.name === null ? {} : { name: output.name }),
          reads: output.reads,
          params: (model.signature.outputs[i] as { params: object }).params,
        })),
      })),
    })),
  };
}
