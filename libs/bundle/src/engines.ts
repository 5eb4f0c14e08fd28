/** Wire protocol the proxy speaks to a backend. */
export type BackendProtocol = 'kserve-v2' | 'tfs-predict';

/** `backendInferenceEngine` values of bundle-signature.yaml (existing: triton, tfServing; Bundlegate adds the rest). */
export const SIGNATURE_ENGINES = ['triton', 'tfServing', 'ovms', 'kserve', 'onnx'] as const;
export type SignatureEngine = (typeof SIGNATURE_ENGINES)[number];

export const SIGNATURE_ENGINE_PROTOCOL: Readonly<Record<SignatureEngine, BackendProtocol>> = {
  triton: 'kserve-v2',
  tfServing: 'tfs-predict',
  ovms: 'kserve-v2',
  kserve: 'kserve-v2',
  onnx: 'kserve-v2',
};

/** `engine` values of bundle.yaml: how a model is served. */
export const SERVING_ENGINES = ['ovms', 'onnx-serving', 'triton', 'tfserving'] as const;
export type ServingEngine = (typeof SERVING_ENGINES)[number];

export interface ServingEngineDefaults {
  /** Port of the serving container's gRPC API. */
  grpcPort: number;
  /** Port of the serving container's REST API. */
  restPort: number;
  protocol: BackendProtocol;
  /** Served from an OVMS `config.json` (`--config_path`). */
  ovmsConfig: boolean;
}

/**
 * The one table of serving defaults: each engine's own default ports, so stock images need no flags.
 * ovms / onnx-serving: `--port 9000 --rest_port 8001`; triton: gRPC 8001, HTTP 8000; tfserving: gRPC 8500, REST 8501.
 */
export const SERVING_ENGINE_DEFAULTS: Readonly<Record<ServingEngine, Readonly<ServingEngineDefaults>>> = {
  ovms: { grpcPort: 9000, restPort: 8001, protocol: 'kserve-v2', ovmsConfig: true },
  'onnx-serving': { grpcPort: 9000, restPort: 8001, protocol: 'kserve-v2', ovmsConfig: true },
  triton: { grpcPort: 8001, restPort: 8000, protocol: 'kserve-v2', ovmsConfig: false },
  tfserving: { grpcPort: 8500, restPort: 8501, protocol: 'tfs-predict', ovmsConfig: false },
};

/** Serving service / gateway cluster name of a model, as existing deployments name them. */
export function clusterName(modelId: string): string {
  return `s${modelId}s`;
}
