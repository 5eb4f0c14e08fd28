import { clusterName, SERVING_ENGINE_DEFAULTS, type BundleModel, type ServingEngine } from '@bundlegate/bundle';

// What runs in each container of a deployment — images, arguments, ports, paths and health checks —
// shared by the compose and Kubernetes generators and the profiles.

/** Bundlegate's own images, built from deploy/docker/<app>.Dockerfile. */
export const BUNDLEGATE_APPS = ['model-download', 'onnx-serving', 'gateway', 'model-proxy'] as const;
export type BundlegateApp = (typeof BUNDLEGATE_APPS)[number];

/** Image reference of one of Bundlegate's apps (compose interpolates registry and tag; Kubernetes gets them literally). */
export type ImageRef = (app: BundlegateApp) => string;

export const DEFAULT_REGISTRY = 'bundlegate';
export const DEFAULT_TAG = '0.1.0';

/** `bundlegate/gateway:0.1.0` */
export function literalImages(registry = DEFAULT_REGISTRY, tag = DEFAULT_TAG): ImageRef {
  return (app) => `${registry}/${app}:${tag}`;
}

/** Stock images of the third-party engines, used when bundle.yaml gives a model no `image`. */
export const ENGINE_IMAGES: Readonly<Record<Exclude<ServingEngine, 'onnx-serving'>, string>> = {
  ovms: 'openvino/model_server:2025.0',
  triton: 'nvcr.io/nvidia/tritonserver:24.12-py3',
  tfserving: 'tensorflow/serving:2.18.0',
};

// Paths inside the containers.
export const MODELS_DIR = '/models';
export const BUNDLE_DIR = '/etc/bundlegate';
export const SERVING_CONFIG_DIR = '/config';
export const SERVING_CONFIG_FILE = `${SERVING_CONFIG_DIR}/config.json`;
/** model-download's `--deployment-dir`: it reads creds/bundle/{.env,gcs.json,model.key} and conf/bundle/.env there. */
export const DEPLOYMENT_DIR = '/deployment';

/** DESIGN.md "Ports and names". */
export const GATEWAY_PORTS = { grpc: 8080, rest: 8081 } as const;
export const PROXY_PORTS = { http: 8000, grpc: 8005 } as const;

/**
 * An HTTP check run inside a container that has Node (Bundlegate's images): exits 0 on a 200.
 * Node 20 has fetch, so the image needs no curl.
 */
export function nodeHttpCheck(port: number, path: string): string[] {
  const url = `http://127.0.0.1:${port}${path}`;
  return ['node', '-e', `fetch(${JSON.stringify(url)}).then((r)=>process.exit(r.status===200?0:1),()=>process.exit(1))`];
}

/**
 * An HTTP check for images without curl or Node (OVMS, Triton, TF Serving): bash's /dev/tcp sends
 * the request; passes on status 200, or when `bodyContains` is given, when the body contains it.
 * No `$` anywhere, so compose interpolation leaves it alone.
 */
export function bashHttpCheck(port: number, path: string, bodyContains?: string): string[] {
  const request = `printf 'GET ${path} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nConnection: close\\r\\n\\r\\n' >&3`;
  const verdict = bodyContains === undefined ? `head -n 1 <&3 | grep -q ' 200 '` : `grep -q '${bodyContains}' <&3`;
  return ['bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && ${request} && ${verdict}`];
}

export interface ServingContainer {
  /** `s<id>s`: compose service, Kubernetes Deployment / Service, gateway cluster. */
  readonly name: string;
  readonly engine: ServingEngine;
  readonly image: string;
  /** Arguments after the image's entrypoint. */
  readonly args: string[];
  readonly env: Readonly<Record<string, string>>;
  readonly grpcPort: number;
  readonly restPort: number;
  /** Reads an OVMS config.json at SERVING_CONFIG_FILE. */
  readonly usesConfigFile: boolean;
  /** HTTP path on the REST port that answers 200 once the model is loaded (KServe ready for KServe engines). */
  readonly readyPath: string;
  /** Ready only when the body contains this (TF Serving answers 200 while still loading). */
  readonly readyBodyContains?: string;
  /** HTTP path on the REST port that answers 200 while the server lives. */
  readonly livePath: string;
  /** A command run inside the container that exits 0 when the model is ready. */
  readonly check: string[];
  /** Runs one of Bundlegate's images (Node, non-root user `node`). */
  readonly bundlegateImage: boolean;
  /** Things of bundle.yaml this engine's container does not apply. */
  readonly warnings: string[];
}

/** The serving container of one model. */
export function servingContainer(model: BundleModel, images: ImageRef): ServingContainer {
  const { grpcPort, restPort } = SERVING_ENGINE_DEFAULTS[model.engine];
  const name = clusterName(model.id);
  const kserveReady = `/v2/models/${model.id}/ready`;
  const ovmsArgs = ['--config_path', SERVING_CONFIG_FILE, '--port', String(grpcPort), '--rest_port', String(restPort)];
  const unpinned = model.version === null ? [] : [`model ${model.id}: version ${model.version} is not pinned for ${model.engine}; it serves the latest version found`];
  const base = { name, engine: model.engine, grpcPort, restPort, readyPath: kserveReady };
  switch (model.engine) {
    case 'onnx-serving':
      return {
        ...base,
        image: model.image ?? images('onnx-serving'),
        args: ovmsArgs,
        env: {},
        usesConfigFile: true,
        livePath: '/healthz',
        check: nodeHttpCheck(restPort, kserveReady),
        bundlegateImage: model.image === null,
        warnings: [],
      };
    case 'ovms':
      return {
        ...base,
        image: model.image ?? ENGINE_IMAGES.ovms,
        args: ovmsArgs,
        env: {},
        usesConfigFile: true,
        livePath: '/v2/health/live',
        check: bashHttpCheck(restPort, kserveReady),
        bundlegateImage: false,
        warnings: [],
      };
    case 'triton':
      return {
        ...base,
        image: model.image ?? ENGINE_IMAGES.triton,
        args: [
          'tritonserver',
          `--model-repository=${MODELS_DIR}`,
          '--model-control-mode=explicit',
          `--load-model=${model.id}`,
          `--grpc-port=${grpcPort}`,
          `--http-port=${restPort}`,
        ],
        env: {},
        usesConfigFile: false,
        livePath: '/v2/health/live',
        check: bashHttpCheck(restPort, kserveReady),
        bundlegateImage: false,
        warnings: unpinned,
      };
    case 'tfserving':
      // the image's entrypoint serves ${MODEL_BASE_PATH}/${MODEL_NAME} on 8500 / 8501
      return {
        ...base,
        image: model.image ?? ENGINE_IMAGES.tfserving,
        args: [],
        env: { MODEL_NAME: model.id, MODEL_BASE_PATH: MODELS_DIR },
        usesConfigFile: false,
        readyPath: `/v1/models/${model.id}`,
        readyBodyContains: '"AVAILABLE"',
        livePath: `/v1/models/${model.id}`,
        check: bashHttpCheck(restPort, `/v1/models/${model.id}`, '"AVAILABLE"'),
        bundlegateImage: false,
        warnings: unpinned,
      };
  }
}

/** `SERVING_<id>_CPU_LIMIT` and friends; '-' in an id becomes '_' (variable names allow no '-'). */
export function servingResourceVar(modelId: string, what: 'CPU_LIMIT' | 'MEM_LIMIT' | 'CPU_RESERVATION' | 'MEM_RESERVATION' | 'GPU_COUNT'): string {
  return `SERVING_${modelId.replace(/-/g, '_')}_${what}`;
}

/** Defaults of the serving resource variables when conf/bundle/.env leaves them unset. */
export const DEFAULT_SERVING_RESOURCES = {
  CPU_LIMIT: '2',
  MEM_LIMIT: '2g',
  CPU_RESERVATION: '0.5',
  MEM_RESERVATION: '512m',
} as const;
