import { clusterName, inputKey, type BundleModel, type LoadedBundle } from '@bundlegate/bundle';
import { COMPOSE_FILE, type GpuSelection } from './compose';
import { literalImages, DEFAULT_REGISTRY, DEFAULT_SERVING_RESOURCES, DEFAULT_TAG, PROXY_PORTS, nvidiaGpuCount, servingContainer, servingResourceVar } from './containers';
import { pathFrom, toYaml } from './text';

// `generate compose`: example/ — a deployment directory in the layout existing deployments use,
// written once and then the user's: `.env` (REL_DIR), conf/bundle/.env, creds/bundle/, README.md.

export interface ExampleOptions {
  /** Absolute path of the deployment directory, written to `.env` as REL_DIR. */
  readonly relDir: string;
  readonly gpus?: GpuSelection;
  readonly registry?: string;
  readonly tag?: string;
  /** How the README tells the user to regenerate base/: the command line used. */
  readonly regenerate: string;
  /** Absolute path of example/: file:// sources are shown relative to it. */
  readonly exampleDir: string;
}

export const EXAMPLE_FILES = ['docker-compose.yaml', '.env', 'conf/bundle/.env', 'creds/bundle/.env', 'README.md'] as const;

/** The serving variables a model has in conf/bundle/.env. */
export function servingVariables(modelId: string, gpu: boolean): string[] {
  const names = (Object.keys(DEFAULT_SERVING_RESOURCES) as (keyof typeof DEFAULT_SERVING_RESOURCES)[]).map((k) => servingResourceVar(modelId, k));
  return gpu ? [...names, servingResourceVar(modelId, 'GPU_COUNT')] : names;
}

/** NVIDIA GPUs a model's serving container reserves: from bundle.yaml, or 1 with `--gpu`; null: none. */
function gpuCountFor(gpus: GpuSelection | undefined, model: BundleModel): number | null {
  return nvidiaGpuCount(servingContainer(model, literalImages()), gpus, model.id);
}

/** Every file of example/, by path relative to it. */
export function composeExample(loaded: LoadedBundle, options: ExampleOptions): Map<string, string> {
  const { bundle } = loaded;
  const files = new Map<string, string>();

  const compose = { name: bundle.name, include: [{ path: `../base/${COMPOSE_FILE}`, env_file: 'conf/bundle/.env' }] };
  files.set(
    'docker-compose.yaml',
    [
      `# Deployment of bundle ${bundle.name}. This directory is yours: \`bundlegate generate compose\` never overwrites it.`,
      '# The services are in ../base (regenerated from bundle.yaml); settings come from conf/bundle/.env and creds/bundle/.',
      toYaml(compose),
    ].join('\n'),
  );

  files.set('.env', ['# Absolute path of this deployment directory: ../base finds conf/ and creds/ through it.', `REL_DIR=${options.relDir}`, ''].join('\n'));

  const conf = [
    `# Settings of bundle ${bundle.name}, read by compose for ../base (docker compose interpolation).`,
    '',
    '# Host address and ports of the model proxy, the only service published on the host (127.0.0.1: this machine only).',
    'MODEL_PROXY_BIND_ADDRESS=0.0.0.0',
    `MODEL_PROXY_HTTP_PORT=${PROXY_PORTS.http}`,
    `MODEL_PROXY_GRPC_PORT=${PROXY_PORTS.grpc}`,
    '',
    "# Bundlegate's images: <registry>/<app>:<tag>.",
    `BUNDLEGATE_REGISTRY=${options.registry ?? DEFAULT_REGISTRY}`,
    `BUNDLEGATE_TAG=${options.tag ?? DEFAULT_TAG}`,
  ];
  for (const model of bundle.models) {
    const serving = servingContainer(model, literalImages());
    const gpus = gpuCountFor(options.gpus, model);
    conf.push('', `# ${clusterName(model.id)} (${model.engine}): CPU cores and memory (docker units: 512m, 2g)${gpus === null ? '' : ', NVIDIA GPUs'}.`);
    for (const name of servingVariables(model.id, gpus !== null)) {
      const what = name.slice(`SERVING_${model.id.replace(/-/g, '_')}_`.length) as keyof typeof DEFAULT_SERVING_RESOURCES | 'GPU_COUNT';
      conf.push(`${name}=${what === 'GPU_COUNT' ? String(gpus) : serving.resources[what]}`);
    }
  }
  files.set('conf/bundle/.env', `${conf.join('\n')}\n`);

  const schemes = new Set(bundle.models.map((m) => m.source.scheme));
  const creds = [
    '# Credentials of model_download: only it mounts creds/bundle/ (read-only) and reads this file.',
    '# Never commit this directory with secrets in it.',
  ];
  if (schemes.has('s3')) {
    creds.push(
      '',
      '# S3: the AWS_* variables or rclone-style ones.',
      '# RCLONE_S3_PROVIDER=AWS',
      '# RCLONE_S3_ACCESS_KEY_ID=',
      '# RCLONE_S3_SECRET_ACCESS_KEY=',
      '# RCLONE_S3_ENDPOINT=',
      '# AWS_REGION=',
    );
  }
  if (schemes.has('gs')) {
    creds.push('', '# Cloud Storage: put the service-account key beside this file as gcs.json (none for a public bucket).');
  }
  if (bundle.models.some((m) => m.encrypted)) {
    creds.push('', '# Encrypted models: the 32-byte key, base64, here or in creds/bundle/model.key.', '# MODEL_DECRYPTION_KEY=');
  }
  files.set('creds/bundle/.env', `${creds.join('\n')}\n`);

  files.set('README.md', exampleReadme(loaded, options));
  return files;
}

function exampleReadme(loaded: LoadedBundle, options: ExampleOptions): string {
  const { bundle, signature } = loaded;
  const images = literalImages(options.registry, options.tag);
  const schemes = new Set(bundle.models.map((m) => m.source.scheme));
  const servingRows = bundle.models.map((m) => {
    const c = servingContainer(m, images);
    return `| \`${c.name}\` | ${m.engine} serving model \`${m.id}\`${m.replicas > 1 ? ` (${m.replicas} replicas)` : ''} | \`${c.image}\` | \`${servingVariables(m.id, gpuCountFor(options.gpus, m) !== null).join('`, `')}\` in conf/bundle/.env |`;
  });
  const sources = [...new Set(bundle.models.map((m) => (m.source.scheme === 'file' ? pathFrom(options.exampleDir, m.source.path) : m.source.uri)))];
  const predicts = signature.bundles
    .flatMap((b) => b.models)
    .filter((m) => m.inputs.length > 0 && m.inputs.every((i) => i.typeId === 'Image'))
    .map((m) => `curl ${m.inputs.map((i) => `-F ${inputKey(i)}=@image.jpg`).join(' ')} localhost:${PROXY_PORTS.http}/api/v1/models/${m.id}/predict`);
  const credLines: string[] = [];
  if (schemes.has('s3')) credLines.push('- **S3**: set `AWS_*` or `RCLONE_S3_PROVIDER`, `RCLONE_S3_ACCESS_KEY_ID`, `RCLONE_S3_SECRET_ACCESS_KEY`, `RCLONE_S3_ENDPOINT` in `creds/bundle/.env`.');
  if (schemes.has('gs')) credLines.push('- **Cloud Storage**: the service-account key at `creds/bundle/gcs.json`; none for a public bucket.');
  if (schemes.has('file')) credLines.push('- **file://** sources need no credentials: base/ bind-mounts each source directory read-only into `model_download`.');
  if (bundle.models.some((m) => m.encrypted)) credLines.push('- **Encrypted models**: the key (32 bytes, base64) in `creds/bundle/model.key` or as `MODEL_DECRYPTION_KEY` in `creds/bundle/.env`.');
  const gpuModels = bundle.models.filter((m) => gpuCountFor(options.gpus, m) !== null);
  return [
    `# Deployment of bundle \`${bundle.name}\``,
    '',
    'Generated once by `bundlegate generate compose`; this directory is yours to edit and is never overwritten.',
    'The services themselves are in `../base/`, which is rewritten every time the bundle changes:',
    '',
    '```sh',
    options.regenerate,
    '```',
    '',
    '```',
    'example/',
    '  docker-compose.yaml     includes ../base/docker-compose.yaml with conf/bundle/.env',
    '  .env                    REL_DIR: the absolute path of this directory',
    '  conf/bundle/.env        ports, image registry and tag, serving resources',
    '  creds/bundle/           credentials, mounted read-only into model_download only',
    '../base/                  generated: services, bundle.yaml and bundle-signature.yaml, OVMS configs',
    '```',
    '',
    '## Prerequisites',
    '',
    '- Docker Engine 25 or later with Compose v2.24 or later (`include`, `env_file.required` and `start_interval` need them).',
    "- Bundlegate's images (`model-download`, `gateway`, `model-proxy`, and `onnx-serving` when a model uses it), built from a checkout:",
    '',
    '  ```sh',
    '  for app in model-download onnx-serving gateway model-proxy; do',
    `    docker build -f deploy/docker/$app.Dockerfile -t ${options.registry ?? DEFAULT_REGISTRY}/$app:${options.tag ?? DEFAULT_TAG} .`,
    '  done',
    '  ```',
    ...(gpuModels.length > 0 ? ['- The NVIDIA Container Toolkit, for the GPU reservation of ' + gpuModels.map((m) => `\`${clusterName(m.id)}\``).join(', ') + '.'] : []),
    `- Model files at ${sources.map((s) => `\`${s}/<id>/<version>/…\``).join(', ')}.`,
    '',
    '## Services',
    '',
    '| service | what | image | configuration |',
    '|---|---|---|---|',
    `| \`model_download\` | copies every model from its source into the \`models\` volume, then exits 0 | \`${images('model-download')}\` | \`../base/bundle/bundle.yaml\`; reads \`creds/bundle/\` and \`conf/bundle/.env\` (\`MODEL_DOWNLOAD_*\` settings) |`,
    ...servingRows,
    `| \`gateway\` | routes gRPC calls by their \`model-id\` metadata to \`s<id>s\`; starts once every serving service is healthy | \`${images('gateway')}\` | routes from \`../base/bundle/bundle.yaml\` |`,
    `| \`model_proxy\` | the public API: HTTP ${PROXY_PORTS.http}, gRPC ${PROXY_PORTS.grpc}; the only service published on the host | \`${images('model-proxy')}\` | \`../base/bundle/bundle-signature.yaml\`; \`MODEL_PROXY_BIND_ADDRESS\`, \`MODEL_PROXY_HTTP_PORT\`, \`MODEL_PROXY_GRPC_PORT\` |`,
    '',
    'Serving services start after `model_download` completed successfully, the gateway after every serving',
    'service is healthy (its model answers the KServe ready endpoint), the proxy after the gateway is healthy.',
    `Unset resource variables default to ${bundle.models.some((m) => m.resources !== undefined) ? "the resources bundle.yaml gives a model, else to " : ''}${DEFAULT_SERVING_RESOURCES.CPU_LIMIT} CPUs / ${DEFAULT_SERVING_RESOURCES.MEM_LIMIT} limits and ${DEFAULT_SERVING_RESOURCES.CPU_RESERVATION} CPU / ${DEFAULT_SERVING_RESOURCES.MEM_RESERVATION} reservations.`,
    '',
    '## Credentials',
    '',
    ...(credLines.length > 0 ? credLines : ['None needed.']),
    '',
    'Secrets go only in `creds/bundle/`; no other service reads it.',
    '',
    '## Deploy',
    '',
    '```sh',
    'docker compose up -d        # in this directory',
    'docker compose ps           # model_download exits 0; the others become healthy',
    'docker compose logs -f gateway',
    '```',
    '',
    '## Test',
    '',
    '```sh',
    `curl localhost:${PROXY_PORTS.http}/api/v1/config`,
    ...predicts,
    '```',
    '',
    'Stop with `docker compose down` (add `-v` to drop the downloaded models).',
    '',
  ].join('\n');
}
