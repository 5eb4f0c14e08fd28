import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadBundleFile, parseBundle, type BundleModel, type LoadedBundle } from '@bundlegate/bundle';
import { parse, parseAllDocuments } from 'yaml';
import type { ComposeFile } from './compose';
import { literalImages, servingContainer } from './containers';
import { generateCompose } from './generate-compose';
import { generateK8s, validateK8sObject } from './generate-k8s';
import { k8sManifests, type K8sObject } from './k8s';
import { readTree, REPO_ROOT, validateCompose } from './testing/fixtures';

// Golden files: one bundle.yaml setting every engine option and shared setting, and what the
// generators make of it. `UPDATE_GOLDEN=1` rewrites expected/ after a deliberate change.

const GOLDEN = join(REPO_ROOT, 'apps', 'cli', 'test', 'engine-options');
const EXPECTED = join(GOLDEN, 'expected');
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';
const REL_DIR = '/srv/deployments/engine-options';

/** An argument as a shell reads it: quoted only when it needs to be. */
function shellWord(arg: string): string {
  return /^[\w./:=,@%+-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Each serving container as a reader checks it: image, environment, and the command line, shell-quoted. */
function commandsText(loaded: LoadedBundle): string {
  return loaded.bundle.models
    .map((model) => {
      const c = servingContainer(model, literalImages());
      const env = Object.entries(c.env).map(([k, v]) => shellWord(`${k}=${v}`));
      return [
        `# ${c.name} (${model.engine})`,
        `image: ${c.image}`,
        `environment: ${env.join(' ') || '-'}`,
        `command: ${c.args.map(shellWord).join(' ') || '-'}`,
        '',
      ].join('\n');
    })
    .join('\n');
}

async function compareTree(actual: Map<string, string>, expectedDir: string): Promise<void> {
  if (UPDATE) {
    await rm(expectedDir, { recursive: true, force: true });
    for (const [path, text] of actual) {
      await mkdir(dirname(join(expectedDir, path)), { recursive: true });
      await writeFile(join(expectedDir, path), text);
    }
  }
  const expected = await readTree(expectedDir);
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [path, text] of actual) expect(`${path}:\n${text}`).toBe(`${path}:\n${expected.get(path)}`);
}

describe('golden files for a bundle that sets every engine option', () => {
  let out: string;
  let loaded: LoadedBundle;
  let compose: ComposeFile;
  let composeWarnings: readonly string[];
  let k8s: Map<string, string>;
  beforeAll(async () => {
    // the inputs are copied beside the output, so generated paths are relative and the same on every machine
    const root = await mkdtemp(join(tmpdir(), 'bundlegate-golden-'));
    for (const f of ['bundle.yaml', 'bundle-signature.yaml']) await copyFile(join(GOLDEN, f), join(root, f));
    out = join(root, 'out');
    loaded = await loadBundleFile(join(root, 'bundle.yaml'));
    const result = await generateCompose({ bundlePath: join(root, 'bundle.yaml'), outDir: join(out, 'compose'), relDir: REL_DIR });
    composeWarnings = result.warnings;
    compose = parse(await readFile(join(out, 'compose', 'base', 'docker-compose.yaml'), 'utf8')) as ComposeFile;
    await generateK8s({ bundlePath: join(root, 'bundle.yaml'), outDir: join(out, 'k8s') });
    k8s = await readTree(join(out, 'k8s'));
  });
  afterAll(() => rm(dirname(out), { recursive: true, force: true }));

  it("matches each engine's generated command (expected/commands.txt)", async () => {
    const text = commandsText(loaded);
    if (UPDATE) await writeFile(join(EXPECTED, 'commands.txt'), text);
    expect(text).toBe(await readFile(join(EXPECTED, 'commands.txt'), 'utf8'));
  });

  it('matches the compose output: docker-compose.yaml, config.json files, batching and monitoring files (expected/compose)', async () => {
    await compareTree(await readTree(join(out, 'compose')), join(EXPECTED, 'compose'));
  });

  it('matches the Kubernetes output (expected/k8s)', async () => {
    await compareTree(k8s, join(EXPECTED, 'k8s'));
  });

  it('writes compose and Kubernetes documents their schemas accept', () => {
    expect(validateCompose(compose)).toEqual([]);
    for (const [file, text] of k8s) {
      if (file === 'kustomization.yaml') continue;
      for (const doc of parseAllDocuments(text)) expect(() => validateK8sObject(doc.toJS() as K8sObject)).not.toThrow();
    }
  });

  it('puts OVMS model settings in config.json and server settings on the command line', async () => {
    const config = JSON.parse(await readFile(join(out, 'compose', 'base', 'serving', 'sovms-gpus.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      model_config_list: [
        {
          config: {
            name: 'ovms-gpu',
            base_path: '/models/ovms-gpu',
            target_device: 'MULTI:GPU,CPU',
            shape: { image: '(1,3,-1,-1)', scale: 'auto' },
            nireq: 8,
            plugin_config: { PERFORMANCE_HINT: 'THROUGHPUT', NUM_STREAMS: 4, ENABLE_CPU_PINNING: false },
            model_version_policy: { latest: { num_versions: 2 } },
          },
        },
      ],
      monitoring: { metrics: { enable: true, metrics_list: ['ovms_requests_success', 'ovms_requests_fail', 'ovms_infer_req_queue_size'] } },
    });
    const ovms = compose.services['sovms-gpus'];
    expect(ovms?.command).toEqual([
      '--config_path',
      '/config/config.json',
      '--port',
      '9000',
      '--rest_port',
      '8001',
      '--file_system_poll_wait_seconds',
      '5',
      '--sequence_cleaner_poll_wait_minutes',
      '10',
      '--grpc_workers',
      '2',
      '--rest_workers',
      '16',
      '--log_level',
      'DEBUG',
      '--log_path',
      '/tmp/ovms.log',
      '--cache_dir',
      '/opt/cache',
      '--cpu_extension',
      '/opt/extensions/libcustom_layers.so',
      '--grpc_max_threads',
      '16',
    ]);
    // GPU: /dev/dri and the image with GPU drivers; NPU: /dev/accel; the pinned version becomes a specific policy
    expect([ovms?.image, ovms?.devices]).toEqual(['openvino/model_server:2025.0-gpu', ['/dev/dri:/dev/dri']]);
    expect([compose.services['sovms-npus']?.image, compose.services['sovms-npus']?.devices]).toEqual([
      'openvino/model_server:2025.0',
      ['/dev/accel:/dev/accel'],
    ]);
    const npuConfig = JSON.parse(await readFile(join(out, 'compose', 'base', 'serving', 'sovms-npus.json'), 'utf8')) as {
      model_config_list: { config: object }[];
    };
    expect(npuConfig.model_config_list[0]?.config).toEqual({
      name: 'ovms-npu',
      base_path: '/models/ovms-npu',
      target_device: 'NPU',
      batch_size: 8,
      shape: '(8,3,224,224)',
      layout: 'NCHW',
      model_version_policy: { specific: { versions: [2] } },
    });
  });

  it('passes TF Serving its batching and monitoring files and its flags', async () => {
    const tfs = compose.services['stfs-models'];
    expect(tfs?.command?.slice(0, 4)).toEqual([
      '--enable_batching=true',
      '--batching_parameters_file=/config/batching.txt',
      '--monitoring_config_file=/config/monitoring.txt',
      '--tensorflow_intra_op_parallelism=4',
    ]);
    expect(tfs?.command).toContain('--grpc_max_threads=64');
    expect(tfs?.command).toContain('--grpc_channel_arguments=grpc.max_connection_age_ms=60000,grpc.max_concurrent_streams=100');
    expect(tfs?.command).toContain('--saved_model_tags=serve,gpu');
    expect(tfs?.volumes).toEqual(
      expect.arrayContaining([
        { type: 'bind', source: './serving/batching_tfs-model.txt', target: '/config/batching.txt', read_only: true },
        { type: 'bind', source: './serving/monitoring_tfs-model.txt', target: '/config/monitoring.txt', read_only: true },
      ]),
    );
    expect(await readFile(join(out, 'compose', 'base', 'serving', 'batching_tfs-model.txt'), 'utf8')).toBe(
      'max_batch_size { value: 32 }\nbatch_timeout_micros { value: 2000 }\nmax_enqueued_batches { value: 100 }\nnum_batch_threads { value: 4 }\n' +
        'thread_pool_name { value: "batch_threads" }\nallowed_batch_sizes: 8\nallowed_batch_sizes: 16\nallowed_batch_sizes: 32\npad_variable_length_inputs: true\n',
    );
  });

  it('passes Triton its control mode, backend settings and metrics port', () => {
    const triton = compose.services['striton-models'];
    expect(triton?.command?.slice(0, 6)).toEqual([
      'tritonserver',
      '--model-repository=/models',
      '--model-control-mode=poll',
      '--repository-poll-secs=30',
      '--grpc-port=8001',
      '--http-port=8000',
    ]);
    expect(triton?.command).toEqual(
      expect.arrayContaining([
        '--strict-readiness=true',
        '--backend-config=onnxruntime,enable-global-threadpool=1',
        '--backend-config=python,shm-default-byte-size=16777216',
        '--metrics-port=8002',
        '--cuda-memory-pool-byte-size=1:134217728',
      ]),
    );
    expect(triton?.command?.at(-1)).toBe('--trace-config=rate=100');
    const deployment = parseAllDocuments(k8s.get('striton-models.yaml') as string)[0]?.toJS() as {
      spec: { template: { spec: { containers: { ports: unknown[] }[] } } };
    };
    expect(deployment.spec.template.spec.containers[0]?.ports).toContainEqual({ name: 'metrics', containerPort: 8002 });
  });

  it('turns resources, GPUs, replicas and environment into compose defaults, escaping $ from compose interpolation', async () => {
    const deploy = (name: string) =>
      compose.services[name]?.deploy as { replicas?: number; resources: { limits: object; reservations: Record<string, unknown> } };
    expect(deploy('sovms-gpus')).toEqual({
      replicas: 2,
      resources: {
        limits: { cpus: '${SERVING_ovms_gpu_CPU_LIMIT:-8}', memory: '${SERVING_ovms_gpu_MEM_LIMIT:-16g}' },
        reservations: { cpus: '${SERVING_ovms_gpu_CPU_RESERVATION:-2}', memory: '${SERVING_ovms_gpu_MEM_RESERVATION:-4g}' },
      },
    });
    // a field left out keeps the generator's default
    expect(deploy('stfs-models').resources.limits).toEqual({ cpus: '${SERVING_tfs_model_CPU_LIMIT:-2}', memory: '${SERVING_tfs_model_MEM_LIMIT:-2g}' });
    expect(deploy('striton-models').resources.reservations['devices']).toEqual([
      { driver: 'nvidia', count: '${SERVING_triton_model_GPU_COUNT:-2}', capabilities: ['gpu'] },
    ]);
    expect(compose.services['sovms-gpus']?.environment).toEqual({ OV_CACHE_LOG: '1', PROXY_NOTE: 'costs $$5' });
    const conf = await readFile(join(out, 'compose', 'example', 'conf', 'bundle', '.env'), 'utf8');
    expect(conf).toContain(
      'SERVING_ovms_gpu_CPU_LIMIT=8\nSERVING_ovms_gpu_MEM_LIMIT=16g\nSERVING_ovms_gpu_CPU_RESERVATION=2\nSERVING_ovms_gpu_MEM_RESERVATION=4g\n',
    );
    expect(conf).toContain('SERVING_triton_model_GPU_COUNT=2\n');
    const k8sLimits = (file: string) =>
      (parseAllDocuments(k8s.get(file) as string)[0]?.toJS() as { spec: { template: { spec: { containers: { resources: object }[] } } } }).spec.template.spec
        .containers[0]?.resources;
    expect(k8sLimits('sovms-gpus.yaml')).toEqual({ requests: { cpu: '2', memory: '4Gi' }, limits: { cpu: '8', memory: '16Gi', 'gpu.intel.com/i915': '1' } });
    expect(k8sLimits('sovms-npus.yaml')).toMatchObject({ limits: { 'npu.intel.com/accel': '1' } });
    expect(k8sLimits('striton-models.yaml')).toMatchObject({ limits: { 'nvidia.com/gpu': '2' } });
  });

  it('warns where the deployment applies a setting with a caveat', () => {
    expect(composeWarnings).toEqual([
      'model triton-model: model-control-mode poll makes Triton load every model in the shared models volume, not only triton-model; explicit loads only it',
    ]);
  });
});

describe('servingContainer with bundle.yaml settings', () => {
  const model = (yaml: string) => parseBundle(`name: b\nsignature: s.yaml\nsource: gs://bucket/m\nmodels:\n${yaml}`, '/b/bundle.yaml').models[0] as BundleModel;
  const images = literalImages();

  it('warns when args move a port or path the deployment relies on, or repeat an option', () => {
    const c = servingContainer(model('  - {id: m, engine: ovms, args: [--port, "9100", --log_level, INFO], options: {log_level: DEBUG}}\n'), images);
    expect(c.args.slice(-4)).toEqual(['--port', '9100', '--log_level', 'INFO']);
    expect(c.warnings).toEqual([
      'model m: args sets --port, which the generator sets for the gateway and health checks; the deployment may not reach the model',
      "model m: args sets --log_level again after bundle.yaml's options did; the server decides which applies",
    ]);
    const tfs = servingContainer(model('  - {id: t, engine: tfserving, environment: {MODEL_NAME: other}}\n'), images);
    expect(tfs.env).toEqual({ MODEL_NAME: 'other', MODEL_BASE_PATH: '/models' });
    expect(tfs.warnings).toEqual(['model t: environment MODEL_NAME replaces the generated MODEL_NAME=t']);
  });

  it('asks for mount_devices when target_device needs a device, and for an image built for NVIDIA', () => {
    expect(servingContainer(model('  - {id: g, engine: ovms, options: {target_device: GPU.1}}\n'), images)).toMatchObject({
      devices: [],
      image: 'openvino/model_server:2025.0-gpu',
      warnings: ['model g: target_device GPU.1 needs its devices in the container; set options.mount_devices: true (or mount them yourself)'],
    });
    expect(servingContainer(model('  - {id: n, engine: ovms, options: {target_device: "HETERO:NVIDIA,CPU", mount_devices: true}}\n'), images)).toMatchObject({
      devices: [],
      nvidiaGpus: 1,
      warnings: ['model n: target_device HETERO:NVIDIA,CPU needs an OVMS image built with NVIDIA support (make docker_build NVIDIA=1); set image'],
    });
    expect(servingContainer(model('  - {id: c, engine: ovms, options: {target_device: CPU}}\n'), images)).toMatchObject({
      devices: [],
      image: 'openvino/model_server:2025.0',
      warnings: [],
    });
  });

  it('warns when a reservation exceeds the default limit it is paired with', () => {
    expect(servingContainer(model('  - {id: r, engine: triton, resources: {reservations: {cpus: 3, memory: 3g}}}\n'), images).warnings).toEqual([
      'model r: reserves 3 CPUs, above the limit of 2; set resources.limits.cpus',
      'model r: reserves 3g of memory, above the limit of 2g; set resources.limits.memory',
    ]);
  });

  it('keeps $(NAME) literal in Kubernetes args and environment', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bundlegate-k8s-literal-'));
    try {
      await writeFile(
        join(root, 'bundle.yaml'),
        'name: b\nsignature: s.yaml\nsource: gs://bucket/m\nmodels:\n  - {id: m, engine: triton, args: ["--id=$(HOSTNAME)"], environment: {A: "$(B)"}}\n',
      );
      await writeFile(
        join(root, 's.yaml'),
        'models:\n  b:\n    backendInferenceEngine: triton\n    models:\n      - id: m\n        modelSgn: {inputs: [{typeId: Scalar, params: {scalarInputKey: x}}], outputs: [{typeId: Tensor, params: {keyName: y}}]}\n',
      );
      const { files } = k8sManifests(await loadBundleFile(join(root, 'bundle.yaml')), '', { bundleLabel: 'b' });
      const container = (files.get('sms.yaml')?.[0] as { spec: { template: { spec: { containers: { args: string[]; env: unknown[] }[] } } } }).spec.template
        .spec.containers[0];
      expect(container?.args.at(-1)).toBe('--id=$$(HOSTNAME)');
      expect(container?.env).toEqual([{ name: 'A', value: '$$(B)' }]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
