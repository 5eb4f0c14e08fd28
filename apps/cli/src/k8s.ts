import { posix, relative, sep } from 'node:path';
import type { BundleModel, LoadedBundle } from '@bundlegate/bundle';
import type { IConfigMap, IContainer, IProbe, IService, IVolume, IVolumeMount } from 'kubernetes-models/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import { BUNDLE_FILE, containerBundleYaml, fileSourceMounts, SIGNATURE_FILE } from './bundle-copy';
import type { GpuSelection } from './compose';
import {
  BUNDLE_DIR,
  DEPLOYMENT_DIR,
  GATEWAY_PORTS,
  literalImages,
  MODELS_DIR,
  PROXY_PORTS,
  nvidiaGpuCount,
  servingContainer,
  type ServingContainer,
} from './containers';
import { toYaml } from './text';

// `generate k8s`: the bundle as Kubernetes objects. Each serving pod downloads its own model in an
// initContainer onto an emptyDir (no ReadWriteMany volume needed, replicas scale freely); serving
// Services are headless so the gateway resolves every ready replica by DNS and balances per call.

export type K8sObject = IConfigMap | IDeployment | IService;

export interface K8sOptions {
  readonly gpus?: GpuSelection;
  readonly registry?: string;
  readonly tag?: string;
  /**
   * Where the bundle's directory is on the nodes: file:// sources are mounted from there with
   * hostPath, at the same place relative to it (default: the directory itself).
   */
  readonly nodeBundleDir?: string;
  /** Where the bundle came from, for the header comment. */
  readonly bundleLabel: string;
}

export interface K8sManifests {
  /** Files of the output directory with their objects, in apply order. */
  readonly files: ReadonlyMap<string, readonly K8sObject[]>;
  readonly warnings: readonly string[];
}

export const BUNDLE_CONFIGMAP = 'bundlegate-bundle';
/** Optional Secret the user creates: keys `.env`, `gcs.json`, `model.key` (the creds/bundle/ layout). */
export const CREDS_SECRET = 'bundlegate-creds';
const NODE_UID = 1000;

/** docker memory units (512m, 2g) → Kubernetes quantities (512Mi, 2Gi). */
export function k8sMemory(docker: string): string {
  const m = /^(\d+(?:\.\d+)?)([bkmg])?$/i.exec(docker.trim());
  if (m === null) throw new RangeError(`not a docker memory size: ${docker}`);
  const unit = (m[2] ?? 'b').toLowerCase();
  return unit === 'b' ? (m[1] as string) : `${m[1]}${unit.toUpperCase()}i`;
}

/** CPU cores (0.5, 2) → Kubernetes quantities (500m, 2). */
export function k8sCpu(cores: string): string {
  const n = Number(cores);
  if (!Number.isFinite(n) || n <= 0) throw new RangeError(`not a CPU count: ${cores}`);
  return Number.isInteger(n) ? String(n) : `${Math.round(n * 1000)}m`;
}

function labels(bundleName: string, component: string, modelId?: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': component,
    'app.kubernetes.io/instance': bundleName,
    'app.kubernetes.io/part-of': 'bundlegate',
    ...(modelId === undefined ? {} : { 'bundlegate.io/model-id': modelId }),
  };
}

function selector(bundleName: string, component: string): Record<string, string> {
  return { 'app.kubernetes.io/name': component, 'app.kubernetes.io/instance': bundleName };
}

const nonRoot = { runAsNonRoot: true, runAsUser: NODE_UID, runAsGroup: NODE_UID, allowPrivilegeEscalation: false };

function httpProbe(path: string, port: string, periodSeconds: number, failureThreshold: number): IProbe {
  return { httpGet: { path, port }, periodSeconds, timeoutSeconds: 3, failureThreshold };
}

function servingProbes(c: ServingContainer): Pick<IContainer, 'readinessProbe' | 'livenessProbe' | 'startupProbe'> {
  // TF Serving answers 200 while still loading: its readiness reads the state from the body
  const readiness: IProbe =
    c.readyBodyContains === undefined ? httpProbe(c.readyPath, 'http', 5, 3) : { exec: { command: c.check }, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 3 };
  return {
    // large models load slowly: liveness starts only once the server answers at all
    startupProbe: { ...httpProbe(c.livePath, 'http', 5, 120) },
    readinessProbe: readiness,
    livenessProbe: httpProbe(c.livePath, 'http', 10, 6),
  };
}

/** `$(` → `$$(`: Kubernetes then passes `$(NAME)` through instead of expanding it. */
export function k8sLiteral(text: string): string {
  return text.replace(/\$\(/g, '$$$$(');
}

function service(bundleName: string, name: string, ports: { name: string; port: number }[], headless: boolean, modelId?: string): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, labels: labels(bundleName, name, modelId) },
    spec: {
      ...(headless ? { clusterIP: 'None' } : {}),
      selector: selector(bundleName, name),
      ports: ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.name, ...(p.name.startsWith('grpc') ? { appProtocol: 'grpc' } : {}) })),
    },
  };
}

export function k8sManifests(loaded: LoadedBundle, signatureText: string, options: K8sOptions): K8sManifests {
  const { bundle } = loaded;
  const images = literalImages(options.registry, options.tag);
  const mounts = fileSourceMounts(bundle);
  const warnings: string[] = [];
  const nodeDir = options.nodeBundleDir;
  const hostPathOf = (hostPath: string): string => (nodeDir === undefined ? hostPath : posix.join(nodeDir, relative(bundle.dir, hostPath).split(sep).join('/')));
  if (mounts.length > 0) {
    warnings.push(`file:// sources are mounted with hostPath: ${mounts.map((m) => hostPathOf(m.hostPath)).join(', ')} must exist on every node that runs a serving pod`);
  }
  const name = bundle.name;

  const configData: Record<string, string> = {
    [BUNDLE_FILE]: containerBundleYaml(bundle, mounts, `# bundle ${name} as the containers see it (generated)`),
    [SIGNATURE_FILE]: signatureText,
  };
  const files = new Map<string, K8sObject[]>();
  const servingObjects: [string, K8sObject[]][] = [];

  for (const model of bundle.models) {
    const c = servingContainer(model, images);
    warnings.push(...c.warnings);
    for (const file of c.files) configData[file.name] = file.content;
    const ports = [{ name: 'grpc', port: c.grpcPort }, { name: 'http', port: c.restPort }, ...(c.metricsPort === undefined ? [] : [{ name: 'metrics', port: c.metricsPort }])];
    servingObjects.push([`${c.name}.yaml`, [servingDeployment(name, model, c, images('model-download'), mounts, hostPathOf, options.gpus), service(name, c.name, ports, true, model.id)]]);
  }

  const configMap: IConfigMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: BUNDLE_CONFIGMAP, labels: labels(name, BUNDLE_CONFIGMAP) }, data: configData };
  files.set('bundle-configmap.yaml', [configMap]);
  for (const [file, objects] of servingObjects) files.set(file, objects);

  const bundleVolume: IVolume = { name: 'bundle', configMap: { name: BUNDLE_CONFIGMAP, items: [{ key: BUNDLE_FILE, path: BUNDLE_FILE }, { key: SIGNATURE_FILE, path: SIGNATURE_FILE }] } };
  const bundleMount: IVolumeMount = { name: 'bundle', mountPath: BUNDLE_DIR, readOnly: true };
  files.set('gateway.yaml', [
    appDeployment(name, 'gateway', images('gateway'), ['--bundle', `${BUNDLE_DIR}/${BUNDLE_FILE}`, '--port', String(GATEWAY_PORTS.grpc), '--rest_port', String(GATEWAY_PORTS.rest)], [
      { name: 'grpc', containerPort: GATEWAY_PORTS.grpc },
      { name: 'http', containerPort: GATEWAY_PORTS.rest },
    ], [bundleVolume], [bundleMount]),
    service(name, 'gateway', [{ name: 'grpc', port: GATEWAY_PORTS.grpc }, { name: 'http', port: GATEWAY_PORTS.rest }], false),
  ]);
  files.set('model-proxy.yaml', [
    appDeployment(name, 'model-proxy', images('model-proxy'), ['--signature', `${BUNDLE_DIR}/${SIGNATURE_FILE}`, '--gateway', `gateway:${GATEWAY_PORTS.grpc}`, '--http_port', String(PROXY_PORTS.http), '--grpc_port', String(PROXY_PORTS.grpc)], [
      { name: 'http', containerPort: PROXY_PORTS.http },
      { name: 'grpc', containerPort: PROXY_PORTS.grpc },
    ], [bundleVolume], [bundleMount]),
    service(name, 'model-proxy', [{ name: 'http', port: PROXY_PORTS.http }, { name: 'grpc', port: PROXY_PORTS.grpc }], false),
  ]);
  return { files, warnings };
}

function servingDeployment(
  bundleName: string,
  model: BundleModel,
  c: ServingContainer,
  downloadImage: string,
  mounts: ReturnType<typeof fileSourceMounts>,
  hostPathOf: (hostPath: string) => string,
  gpus: GpuSelection | undefined,
): IDeployment {
  const volumes: IVolume[] = [
    { name: 'models', emptyDir: {} },
    {
      name: 'bundle',
      configMap: {
        name: BUNDLE_CONFIGMAP,
        items: [{ key: BUNDLE_FILE, path: BUNDLE_FILE }, { key: SIGNATURE_FILE, path: SIGNATURE_FILE }, ...c.files.map((f) => ({ key: f.name, path: posix.basename(f.target) }))],
      },
    },
    { name: 'creds', secret: { secretName: CREDS_SECRET, optional: true } },
    ...mounts.map((m, i) => ({ name: `bucket-${i + 1}`, hostPath: { path: hostPathOf(m.hostPath), type: 'Directory' as const } })),
  ];
  const limits: Record<string, string> = { cpu: k8sCpu(c.resources.CPU_LIMIT), memory: k8sMemory(c.resources.MEM_LIMIT), ...c.deviceResources };
  const gpuCount = nvidiaGpuCount(c, gpus, model.id);
  if (gpuCount !== null) limits['nvidia.com/gpu'] = String(gpuCount);
  const download: IContainer = {
    name: 'model-download',
    image: downloadImage,
    args: ['--bundle', `${BUNDLE_DIR}/${BUNDLE_FILE}`, '--model', model.id, '--models-dir', MODELS_DIR, '--deployment-dir', DEPLOYMENT_DIR],
    volumeMounts: [
      { name: 'models', mountPath: MODELS_DIR },
      { name: 'bundle', mountPath: BUNDLE_DIR, readOnly: true },
      { name: 'creds', mountPath: `${DEPLOYMENT_DIR}/creds/bundle`, readOnly: true },
      ...mounts.map((m, i) => ({ name: `bucket-${i + 1}`, mountPath: m.containerPath, readOnly: true })),
    ],
    securityContext: nonRoot,
  };
  const serving: IContainer = {
    name: 'serving',
    image: c.image,
    // Kubernetes expands $(NAME) in args and env values: bundle.yaml text must stay literal
    ...(c.args.length > 0 ? { args: c.args.map(k8sLiteral) } : {}),
    ...(Object.keys(c.env).length > 0 ? { env: Object.entries(c.env).map(([n, value]) => ({ name: n, value: k8sLiteral(value) })) } : {}),
    ports: [
      { name: 'grpc', containerPort: c.grpcPort },
      { name: 'http', containerPort: c.restPort },
      ...(c.metricsPort === undefined ? [] : [{ name: 'metrics', containerPort: c.metricsPort }]),
    ],
    volumeMounts: [
      { name: 'models', mountPath: MODELS_DIR, readOnly: true },
      ...c.files.map((f) => ({ name: 'bundle', mountPath: f.target, subPath: posix.basename(f.target), readOnly: true })),
    ],
    resources: {
      requests: { cpu: k8sCpu(c.resources.CPU_RESERVATION), memory: k8sMemory(c.resources.MEM_RESERVATION) },
      limits,
    },
    ...servingProbes(c),
    ...(c.bundlegateImage ? { securityContext: nonRoot } : {}),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: c.name, labels: labels(bundleName, c.name, model.id) },
    spec: {
      replicas: model.replicas,
      selector: { matchLabels: selector(bundleName, c.name) },
      template: {
        metadata: { labels: labels(bundleName, c.name, model.id) },
        spec: { initContainers: [download], containers: [serving], volumes },
      },
    },
  };
}

function appDeployment(
  bundleName: string,
  component: 'gateway' | 'model-proxy',
  image: string,
  args: string[],
  ports: { name: string; containerPort: number }[],
  volumes: IVolume[],
  volumeMounts: IVolumeMount[],
): IDeployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: component, labels: labels(bundleName, component) },
    spec: {
      replicas: 1,
      selector: { matchLabels: selector(bundleName, component) },
      template: {
        metadata: { labels: labels(bundleName, component) },
        spec: {
          containers: [
            {
              name: component,
              image,
              args,
              ports,
              volumeMounts,
              // both serve /healthz and /readyz on their HTTP port
              readinessProbe: httpProbe('/readyz', 'http', 5, 3),
              livenessProbe: httpProbe('/healthz', 'http', 10, 3),
              securityContext: nonRoot,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** One YAML file of objects, `---`-separated, under a header. */
export function k8sYaml(objects: readonly K8sObject[], header: string): string {
  return `${header}\n${objects.map((o) => toYaml(o)).join('---\n')}`;
}

/** kustomization.yaml listing every file, so `kubectl apply -k DIR` applies the lot. */
export function kustomization(files: readonly string[], header: string): string {
  return `${header}\n${toYaml({ apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: files })}`;
}
