import {
  clusterName,
  dockerMemoryBytes,
  ovmsConfig,
  ovmsDevices,
  SERVING_ENGINE_DEFAULTS,
  tfServingBatchingParameters,
  tfServingMonitoringConfig,
  type BundleModel,
  type ServingEngine,
} from '@bundlegate/bundle';
import { flagName, onnxServingServerArgs, ovmsServerArgs, tfServingArgs, tritonArgs } from './engine-args';

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

/** A file the serving container reads: written to base/serving/<name> (compose) or the ConfigMap key <name> (Kubernetes). */
export interface ServingFile {
  readonly name: string;
  /** Path inside the container. */
  readonly target: string;
  readonly content: string;
}

/** CPU and memory of a serving container, keyed as the `SERVING_<id>_*` variables. */
export type ServingResourceValues = Readonly<Record<keyof typeof DEFAULT_SERVING_RESOURCES, string>>;

export interface ServingContainer {
  /** `s<id>s`: compose service, Kubernetes Deployment / Service, gateway cluster. */
  readonly name: string;
  readonly engine: ServingEngine;
  readonly image: string;
  /** Arguments after the image's entrypoint: the engine's, its options', then the bundle's `args`. */
  readonly args: string[];
  readonly env: Readonly<Record<string, string>>;
  readonly grpcPort: number;
  readonly restPort: number;
  /** Triton's metrics port, when bundle.yaml sets one. */
  readonly metricsPort?: number;
  /** Reads an OVMS config.json at SERVING_CONFIG_FILE. */
  readonly usesConfigFile: boolean;
  /** Files to mount: the OVMS config.json, TF Serving's batching and monitoring files. */
  readonly files: readonly ServingFile[];
  /** Host devices to pass through (compose `devices`), from OVMS `target_device` with `mount_devices`. */
  readonly devices: readonly string[];
  /** Kubernetes extended resources for those devices (Intel device plugins). */
  readonly deviceResources: Readonly<Record<string, string>>;
  /** NVIDIA GPUs this model asks for in bundle.yaml (`gpus`, or an NVIDIA target_device with mount_devices); null: none. */
  readonly nvidiaGpus: number | null;
  /** CPU / memory defaults: the bundle's, else DEFAULT_SERVING_RESOURCES. */
  readonly resources: ServingResourceValues;
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
  /** Things of bundle.yaml this engine's container does not apply, or applies with a caveat. */
  readonly warnings: string[];
}

/** Where TF Serving finds its option files. */
export const TFS_BATCHING_FILE = `${SERVING_CONFIG_DIR}/batching.txt`;
export const TFS_MONITORING_FILE = `${SERVING_CONFIG_DIR}/monitoring.txt`;

/** Flags the generator owns: setting them again in `args` would move ports or paths the deployment relies on. */
const OWNED_FLAGS: Readonly<Record<ServingEngine, readonly string[]>> = {
  ovms: ['--config_path', '--model_path', '--model_name', '--port', '--rest_port', '--grpc_bind_address', '--rest_bind_address'],
  'onnx-serving': ['--config_path', '--model_path', '--model_name', '--port', '--rest_port', '--grpc_bind_address', '--rest_bind_address'],
  triton: ['--model-repository', '--model-store', '--grpc-port', '--http-port', '--load-model'],
  tfserving: ['--port', '--rest_api_port', '--model_name', '--model_base_path', '--model_config_file'],
};

/** Devices OVMS needs in the container for a device it compiles for (OVMS "Using AI Accelerators"). */
const OVMS_DEVICE_MOUNTS: Readonly<Record<string, { device: string; k8s: string }>> = {
  GPU: { device: '/dev/dri:/dev/dri', k8s: 'gpu.intel.com/i915' },
  AUTO: { device: '/dev/dri:/dev/dri', k8s: 'gpu.intel.com/i915' },
  NPU: { device: '/dev/accel:/dev/accel', k8s: 'npu.intel.com/accel' },
};

/** The OVMS image with Intel GPU drivers, used when a model compiles for GPU and names no image. */
export const OVMS_GPU_IMAGE = `${ENGINE_IMAGES.ovms}-gpu`;

function servingResourceValues(model: BundleModel): ServingResourceValues {
  const r = model.resources ?? {};
  return {
    CPU_LIMIT: r.cpuLimit ?? DEFAULT_SERVING_RESOURCES.CPU_LIMIT,
    MEM_LIMIT: r.memLimit ?? DEFAULT_SERVING_RESOURCES.MEM_LIMIT,
    CPU_RESERVATION: r.cpuReservation ?? DEFAULT_SERVING_RESOURCES.CPU_RESERVATION,
    MEM_RESERVATION: r.memReservation ?? DEFAULT_SERVING_RESOURCES.MEM_RESERVATION,
  };
}

function ovmsConfigFile(model: BundleModel, name: string): ServingFile {
  return { name: `${name}.json`, target: SERVING_CONFIG_FILE, content: `${JSON.stringify(ovmsConfig({ models: [model] }, { basePathPrefix: MODELS_DIR }), null, 2)}\n` };
}

/** The serving container of one model. */
export function servingContainer(model: BundleModel, images: ImageRef): ServingContainer {
  const { grpcPort, restPort } = SERVING_ENGINE_DEFAULTS[model.engine];
  const name = clusterName(model.id);
  const kserveReady = `/v2/models/${model.id}/ready`;
  const ovmsArgs = ['--config_path', SERVING_CONFIG_FILE, '--port', String(grpcPort), '--rest_port', String(restPort)];
  const unpinned = model.version === null ? [] : [`model ${model.id}: version ${model.version} is not pinned for ${model.engine}; it serves the latest version found`];
  const base = {
    name,
    engine: model.engine,
    grpcPort,
    restPort,
    readyPath: kserveReady,
    devices: [] as string[],
    deviceResources: {} as Record<string, string>,
    nvidiaGpus: model.gpus ?? null,
    resources: servingResourceValues(model),
  };
  let container: ServingContainer;
  switch (model.engine) {
    case 'onnx-serving':
      container = {
        ...base,
        image: model.image ?? images('onnx-serving'),
        args: [...ovmsArgs, ...onnxServingServerArgs(model.options)],
        env: {},
        usesConfigFile: true,
        files: [ovmsConfigFile(model, name)],
        livePath: '/healthz',
        check: nodeHttpCheck(restPort, kserveReady),
        bundlegateImage: model.image === null,
        warnings: [],
      };
      break;
    case 'ovms': {
      const options = model.options;
      const devices = options.target_device === undefined ? [] : ovmsDevices(options.target_device);
      const warnings: string[] = [];
      const mounts = devices.flatMap((d) => OVMS_DEVICE_MOUNTS[d] ?? []);
      let nvidiaGpus = base.nvidiaGpus;
      if (options.mount_devices === true) {
        base.devices.push(...new Set(mounts.map((m) => m.device)));
        for (const m of mounts) base.deviceResources[m.k8s] = '1';
        if (devices.includes('NVIDIA')) nvidiaGpus ??= 1;
      } else if (mounts.length > 0 || devices.includes('NVIDIA')) {
        warnings.push(`model ${model.id}: target_device ${options.target_device} needs its devices in the container; set options.mount_devices: true (or mount them yourself)`);
      }
      if (devices.includes('NVIDIA') && model.image === null) {
        warnings.push(`model ${model.id}: target_device ${options.target_device} needs an OVMS image built with NVIDIA support (make docker_build NVIDIA=1); set image`);
      }
      const gpuImage = devices.includes('GPU') || devices.includes('AUTO');
      container = {
        ...base,
        nvidiaGpus,
        image: model.image ?? (gpuImage ? OVMS_GPU_IMAGE : ENGINE_IMAGES.ovms),
        args: [...ovmsArgs, ...ovmsServerArgs(options)],
        env: {},
        usesConfigFile: true,
        files: [ovmsConfigFile(model, name)],
        livePath: '/v2/health/live',
        check: bashHttpCheck(restPort, kserveReady),
        bundlegateImage: false,
        warnings,
      };
      break;
    }
    case 'triton': {
      const { control, server } = tritonArgs(model.options, model.id);
      const metricsPort = model.options['metrics-port'];
      container = {
        ...base,
        ...(metricsPort === undefined ? {} : { metricsPort }),
        image: model.image ?? ENGINE_IMAGES.triton,
        args: ['tritonserver', `--model-repository=${MODELS_DIR}`, ...control, `--grpc-port=${grpcPort}`, `--http-port=${restPort}`, ...server],
        env: {},
        usesConfigFile: false,
        files: [],
        livePath: '/v2/health/live',
        check: bashHttpCheck(restPort, kserveReady),
        bundlegateImage: false,
        warnings: unpinned,
      };
      break;
    }
    case 'tfserving': {
      const options = model.options;
      const files: ServingFile[] = [];
      if (options.batching !== undefined) files.push({ name: `batching_${model.id}.txt`, target: TFS_BATCHING_FILE, content: tfServingBatchingParameters(options.batching) });
      if (options.monitoring !== undefined) files.push({ name: `monitoring_${model.id}.txt`, target: TFS_MONITORING_FILE, content: tfServingMonitoringConfig(options.monitoring) });
      // the image's entrypoint serves ${MODEL_BASE_PATH}/${MODEL_NAME} on 8500 / 8501 and appends these arguments
      container = {
        ...base,
        image: model.image ?? ENGINE_IMAGES.tfserving,
        args: tfServingArgs(options, { batching: TFS_BATCHING_FILE, monitoring: TFS_MONITORING_FILE }),
        env: { MODEL_NAME: model.id, MODEL_BASE_PATH: MODELS_DIR },
        usesConfigFile: false,
        files,
        readyPath: `/v1/models/${model.id}`,
        readyBodyContains: '"AVAILABLE"',
        livePath: `/v1/models/${model.id}`,
        check: bashHttpCheck(restPort, `/v1/models/${model.id}`, '"AVAILABLE"'),
        bundlegateImage: false,
        warnings: unpinned,
      };
      break;
    }
  }
  return withBundleExtras({ ...container, warnings: [...container.warnings, ...resourceWarnings(model.id, container.resources)] }, model);
}

/** A reservation above its limit once the defaults fill the gaps: Kubernetes and Docker refuse such a container. */
function resourceWarnings(modelId: string, r: ServingResourceValues): string[] {
  const warnings: string[] = [];
  if (Number(r.CPU_RESERVATION) > Number(r.CPU_LIMIT)) {
    warnings.push(`model ${modelId}: reserves ${r.CPU_RESERVATION} CPUs, above the limit of ${r.CPU_LIMIT}; set resources.limits.cpus`);
  }
  const memReservation = dockerMemoryBytes(r.MEM_RESERVATION);
  const memLimit = dockerMemoryBytes(r.MEM_LIMIT);
  if (memReservation !== undefined && memLimit !== undefined && memReservation > memLimit) {
    warnings.push(`model ${modelId}: reserves ${r.MEM_RESERVATION} of memory, above the limit of ${r.MEM_LIMIT}; set resources.limits.memory`);
  }
  return warnings;
}

/** Appends the bundle's own `args` and `environment`, warning where they override what the generator set. */
function withBundleExtras(container: ServingContainer, model: BundleModel): ServingContainer {
  const extra = model.args ?? [];
  const env = model.environment ?? {};
  if (extra.length === 0 && Object.keys(env).length === 0) return container;
  const warnings = [...container.warnings];
  const generated = new Set(container.args.flatMap((a) => flagName(a) ?? []));
  for (const flag of new Set(extra.flatMap((a) => flagName(a) ?? []))) {
    if (OWNED_FLAGS[model.engine].includes(flag)) warnings.push(`model ${model.id}: args sets ${flag}, which the generator sets for the gateway and health checks; the deployment may not reach the model`);
    else if (generated.has(flag)) warnings.push(`model ${model.id}: args sets ${flag} again after bundle.yaml's options did; the server decides which applies`);
  }
  for (const key of Object.keys(env)) {
    if (container.env[key] !== undefined) warnings.push(`model ${model.id}: environment ${key} replaces the generated ${key}=${container.env[key]}`);
  }
  return { ...container, args: [...container.args, ...extra], env: { ...container.env, ...env }, warnings };
}

/** Models whose serving containers reserve NVIDIA GPUs on the command line (`--gpu`): every one, or these ids. */
export type GpuSelection = 'all' | ReadonlySet<string>;

/**
 * NVIDIA GPUs to reserve for a serving container: the count bundle.yaml asks for, or 1 for a model
 * opted in with `--gpu`; null: none.
 */
export function nvidiaGpuCount(serving: Pick<ServingContainer, 'nvidiaGpus'>, gpus: GpuSelection | undefined, modelId: string): number | null {
  if (serving.nvidiaGpus !== null) return serving.nvidiaGpus;
  return gpus === 'all' || (gpus !== undefined && gpus.has(modelId)) ? 1 : null;
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
