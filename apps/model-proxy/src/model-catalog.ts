import {
  planModelIo,
  type BackendProtocol,
  type BundleSignature,
  type ModelIoPlan,
  type OutputPlan,
  type SignatureEngine,
  type SignatureModel,
} from '@bundlegate/bundle';
import { bgError } from '@bundlegate/service-kit';
import { ProxyInput, type InputOptions } from './friendly-input';

/** One model of the signature, compiled once at startup: the request path only looks things up. */
export class ProxyModel {
  readonly id: string;
  readonly bundleName: string;
  readonly engine: SignatureEngine;
  readonly protocol: BackendProtocol;
  readonly plan: ModelIoPlan;
  readonly inputs: readonly ProxyInput[];
  readonly outputs: readonly OutputPlan[];
  /** Backend tensors the outputs read, each once: what the proxy asks the backend for. */
  readonly reads: readonly string[];
  private readonly byKey: ReadonlyMap<string, ProxyInput>;

  constructor(
    readonly signature: SignatureModel,
    options: InputOptions,
  ) {
    this.plan = planModelIo(signature);
    this.id = signature.id;
    this.bundleName = signature.bundleName;
    this.engine = signature.backendInferenceEngine;
    this.protocol = signature.protocol;
    this.inputs = this.plan.inputs.map((plan, i) => new ProxyInput(plan, signature.inputs[i] as SignatureModel['inputs'][number], options));
    this.byKey = new Map(this.inputs.map((input) => [input.key, input]));
    this.outputs = this.plan.outputs;
    this.reads = [...new Set(this.outputs.flatMap((o) => o.reads))];
  }

  /** The input a request key names, or undefined. */
  input(key: string): ProxyInput | undefined {
    return this.byKey.get(key);
  }

  /** "input (Image), mask (Quad)": what the model takes, for error messages. */
  describeInputs(): string {
    return this.inputs.map((i) => `${i.key} (${i.plan.typeId})`).join(', ');
  }
}

export interface CatalogBundle {
  readonly name: string;
  readonly backendInferenceEngine: SignatureEngine;
  readonly models: readonly ProxyModel[];
}

/** Every model the proxy serves, grouped like the signature file. */
export class ModelCatalog {
  readonly bundles: readonly CatalogBundle[];
  readonly models: readonly ProxyModel[];
  private readonly byId: ReadonlyMap<string, ProxyModel>;

  constructor(
    readonly signature: BundleSignature,
    options: InputOptions,
  ) {
    this.bundles = signature.bundles.map((b) => ({
      name: b.name,
      backendInferenceEngine: b.backendInferenceEngine,
      models: b.models.map((m) => new ProxyModel(m, options)),
    }));
    this.models = this.bundles.flatMap((b) => b.models);
    this.byId = new Map(this.models.map((m) => [m.id, m]));
  }

  /** The model with this id; BG_UNKNOWN_MODEL (404) listing the known ids otherwise. */
  get(id: string): ProxyModel {
    const model = this.byId.get(id);
    if (model === undefined) throw bgError('BG_UNKNOWN_MODEL', { modelId: id, known: [...this.byId.keys()] });
    return model;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }
}
