import type { ModelIoPlan } from '@bundlegate/bundle';
import { ModelManager, parseServingConfig, startPolling, type Poller } from '@bundlegate/model-runtime';
import type { Logger } from '@bundlegate/service-kit';
import type { AnyTensor } from '@bundlegate/tensors';
import { tensorsByName, type InferCall, type InferenceBackend } from './backend';

export interface InProcessBackendOptions {
  /** Model repository: `<modelsDir>/<id>/<version>/model.onnx`, as model-download lays it out. */
  readonly modelsDir: string;
  /** Model ids to serve (the signature's). */
  readonly modelIds: readonly string[];
  readonly logger: Logger;
  /** Rescan for new versions this often; 0 never. */
  readonly pollIntervalMs?: number;
  readonly maxImagePixels?: number;
}

/**
 * Runs the models inside the proxy with the onnx-serving runtime: for single-container deployments with no gateway.
 * Encoded images without decodeJpeg are decoded by the runtime, as onnx-serving and OVMS do.
 */
export class InProcessBackend implements InferenceBackend {
  readonly kind = 'in-process';

  private constructor(
    private readonly manager: ModelManager,
    private readonly poller: Poller,
  ) {}

  /** Loads every model (the latest version of each) before resolving. */
  static async open(options: InProcessBackendOptions): Promise<InProcessBackend> {
    const manager = new ModelManager({ logger: options.logger, maxImagePixels: options.maxImagePixels });
    const configJson = { model_config_list: options.modelIds.map((id) => ({ config: { name: id, base_path: id } })) };
    await manager.apply(parseServingConfig(JSON.stringify(configJson), { baseDir: options.modelsDir }));
    const poller = startPolling({ manager, logger: options.logger, intervalMs: options.pollIntervalMs ?? 0 });
    return new InProcessBackend(manager, poller);
  }

  async infer(call: InferCall): Promise<Map<string, AnyTensor>> {
    const result = await this.manager.infer({ model: call.model.modelId, inputs: call.inputs, outputs: call.outputs });
    return tensorsByName(result.outputs as AnyTensor[]);
  }

  async ready(): Promise<boolean> {
    return true;
  }

  async modelReady(model: ModelIoPlan): Promise<boolean> {
    return this.manager.isReady(model.modelId);
  }

  async close(): Promise<void> {
    await this.poller.stop();
    await this.manager.close();
  }
}
