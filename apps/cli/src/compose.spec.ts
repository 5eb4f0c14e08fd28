import { readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBundleFile } from '@bundlegate/bundle';
import { parse } from 'yaml';
import { composeBase, type ComposeFile } from './compose';
import { generateCompose } from './generate-compose';
import { demoTree, DEMO_IDS, readTree, REPO_ROOT, validateCompose, writeText } from './testing/fixtures';

const REL_DIR_PLACEHOLDER = '/absolute/path/of/deploy/examples/compose/example';
const [ANOMALY, FRAUD] = DEMO_IDS;

describe('generate compose for the demo bundle', () => {
  let root: string;
  let bundle: string;
  let out: string;
  beforeAll(async () => {
    ({ root, bundle } = await demoTree());
    out = join(root, 'deploy', 'examples', 'compose');
    await generateCompose({ bundlePath: bundle, outDir: out, relDir: REL_DIR_PLACEHOLDER });
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('matches deploy/examples/compose file for file (regenerate with `npm run examples -w @bundlegate/cli`)', async () => {
    const generated = await readTree(out);
    const committed = await readTree(join(REPO_ROOT, 'deploy', 'examples', 'compose'));
    expect([...generated.keys()]).toEqual([...committed.keys()]);
    for (const [path, text] of generated) expect(`${path}:\n${text}`).toBe(`${path}:\n${committed.get(path)}`);
  });

  it('writes base and example compose files that validate against the compose specification', async () => {
    for (const file of ['base/docker-compose.yaml', 'example/docker-compose.yaml']) {
      expect({ file, problems: validateCompose(parse(await readFile(join(out, file), 'utf8'))) }).toEqual({ file, problems: [] });
    }
  });

  it('has a schema check that rejects what compose rejects', () => {
    const broken = { services: { a: { image: 'x', depends_on: { b: { condition: 'service_ready' } }, heathcheck: {} } } };
    expect(validateCompose(broken).length).toBeGreaterThan(0);
  });

  it('runs the download, one s<id>s per model, the gateway and the proxy, in that dependency order', async () => {
    const compose = parse(await readFile(join(out, 'base/docker-compose.yaml'), 'utf8')) as ComposeFile;
    expect(Object.keys(compose.services)).toEqual(['model_download', `s${ANOMALY}s`, `s${FRAUD}s`, 'gateway', 'model_proxy']);
    for (const id of DEMO_IDS) {
      expect(compose.services[`s${id}s`]?.depends_on).toEqual({ model_download: { condition: 'service_completed_successfully' } });
    }
    expect(compose.services['gateway']?.depends_on).toEqual({
      [`s${ANOMALY}s`]: { condition: 'service_healthy' },
      [`s${FRAUD}s`]: { condition: 'service_healthy' },
    });
    expect(compose.services['model_proxy']?.depends_on).toEqual({ gateway: { condition: 'service_healthy' } });
  });

  it('publishes host ports for the model proxy only: 8000 and 8005, overridable', async () => {
    const compose = parse(await readFile(join(out, 'base/docker-compose.yaml'), 'utf8')) as ComposeFile;
    const published = Object.entries(compose.services).filter(([, s]) => s.ports !== undefined);
    expect(published).toEqual([['model_proxy', expect.objectContaining({ ports: ['${MODEL_PROXY_BIND_ADDRESS:-0.0.0.0}:${MODEL_PROXY_HTTP_PORT:-8000}:8000', '${MODEL_PROXY_BIND_ADDRESS:-0.0.0.0}:${MODEL_PROXY_GRPC_PORT:-8005}:8005'] })]]);
  });

  it('mounts the models read-only in serving, with the OVMS config of that model, and checks its KServe ready endpoint', async () => {
    const compose = parse(await readFile(join(out, 'base/docker-compose.yaml'), 'utf8')) as ComposeFile;
    const serving = compose.services[`s${ANOMALY}s`];
    expect(serving?.command).toEqual(['--config_path', '/config/config.json', '--port', '9000', '--rest_port', '8001']);
    expect(serving?.volumes).toEqual([
      { type: 'volume', source: 'models', target: '/models', read_only: true },
      { type: 'bind', source: `./serving/s${ANOMALY}s.json`, target: '/config/config.json', read_only: true },
    ]);
    expect(JSON.parse(await readFile(join(out, `base/serving/s${ANOMALY}s.json`), 'utf8'))).toEqual({
      model_config_list: [{ config: { name: ANOMALY, base_path: `/models/${ANOMALY}` } }],
    });
    expect((serving?.healthcheck?.['test'] as string[]).join(' ')).toContain(`http://127.0.0.1:8001/v2/models/${ANOMALY}/ready`);
    expect(serving?.deploy).toEqual({
      resources: {
        limits: { cpus: `\${SERVING_${ANOMALY}_CPU_LIMIT:-2}`, memory: `\${SERVING_${ANOMALY}_MEM_LIMIT:-2g}` },
        reservations: { cpus: `\${SERVING_${ANOMALY}_CPU_RESERVATION:-0.5}`, memory: `\${SERVING_${ANOMALY}_MEM_RESERVATION:-512m}` },
      },
    });
  });

  it('gives model_download the bundle, the deployment credentials and the file:// bucket, and the gateway the same bundle', async () => {
    const compose = parse(await readFile(join(out, 'base/docker-compose.yaml'), 'utf8')) as ComposeFile;
    const download = compose.services['model_download'];
    expect(download?.command).toEqual(['--bundle', '/etc/bundlegate/bundle.yaml', '--models-dir', '/models', '--deployment-dir', '/deployment']);
    expect(download?.volumes).toEqual([
      { type: 'volume', source: 'models', target: '/models' },
      { type: 'bind', source: './bundle', target: '/etc/bundlegate', read_only: true },
      { type: 'bind', source: '${REL_DIR}/creds/bundle', target: '/deployment/creds/bundle', read_only: true },
      { type: 'bind', source: '${REL_DIR}/conf/bundle', target: '/deployment/conf/bundle', read_only: true },
      { type: 'bind', source: '../../../demo/bucket/models', target: '/buckets/1', read_only: true },
    ]);
    const containerBundle = parse(await readFile(join(out, 'base/bundle/bundle.yaml'), 'utf8')) as Record<string, unknown>;
    expect(containerBundle).toEqual({
      name: 'demo',
      signature: 'bundle-signature.yaml',
      source: 'file:///buckets/1',
      models: DEMO_IDS.map((id) => ({ id, engine: 'onnx-serving' })),
    });
    expect(compose.services['gateway']?.command).toEqual(['--bundle', '/etc/bundlegate/bundle.yaml', '--port', '8080', '--rest_port', '8081']);
  });

  it('writes the example deployment dir in the existing layout', async () => {
    const example = await readTree(join(out, 'example'));
    expect([...example.keys()]).toEqual(['.env', 'README.md', 'conf/bundle/.env', 'creds/bundle/.env', 'docker-compose.yaml'].sort());
    expect(example.get('.env')).toContain(`REL_DIR=${REL_DIR_PLACEHOLDER}\n`);
    expect(parse(example.get('docker-compose.yaml') as string)).toEqual({ name: 'demo', include: [{ path: '../base/docker-compose.yaml', env_file: 'conf/bundle/.env' }] });
    const conf = example.get('conf/bundle/.env') as string;
    for (const id of DEMO_IDS) for (const v of ['CPU_LIMIT', 'MEM_LIMIT', 'CPU_RESERVATION', 'MEM_RESERVATION']) expect(conf).toMatch(new RegExp(`^SERVING_${id}_${v}=\\S+$`, 'm'));
    const readme = example.get('README.md') as string;
    expect(readme).toContain('curl localhost:8000/api/v1/config');
    expect(readme).toContain(`curl -F input=@image.jpg localhost:8000/api/v1/models/${ANOMALY}/predict`);
    expect(readme).toContain('## Prerequisites');
    expect(readme).toContain('## Credentials');
  });
});

const ENGINES_BUNDLE = `name: engines
signature: bundle-signature.yaml
source: s3://models-bucket/prod
models:
  - id: ovms-model
    engine: ovms
  - id: triton-model
    engine: triton
    replicas: 3
    version: 2
  - id: tfs-model
    engine: tfserving
    source: gs://other-bucket/tf
  - id: custom-model
    engine: onnx-serving
    image: registry.example/onnx-serving:gpu
`;

const ENGINES_SIGNATURE = `models:
  b:
    backendInferenceEngine: triton
    models:
      - id: ovms-model
        modelSgn: { inputs: [{ typeId: Scalar, params: { scalarInputKey: x } }], outputs: [{ typeId: Tensor, params: { keyName: y } }] }
      - id: triton-model
        modelSgn: { inputs: [{ typeId: Scalar, params: { scalarInputKey: x } }], outputs: [{ typeId: Tensor, params: { keyName: y } }] }
      - id: custom-model
        modelSgn: { inputs: [{ typeId: Scalar, params: { scalarInputKey: x } }], outputs: [{ typeId: Tensor, params: { keyName: y } }] }
  t:
    backendInferenceEngine: tfServing
    models:
      - id: tfs-model
        modelSgn: { inputs: [{ typeId: Scalar, params: { scalarInputKey: x } }], outputs: [{ typeId: Tensor, params: { keyName: y } }] }
`;

describe('composeBase for every engine', () => {
  let root: string;
  beforeAll(async () => {
    ({ root } = await demoTree());
    await writeText(join(root, 'engines', 'bundle.yaml'), ENGINES_BUNDLE);
    await writeText(join(root, 'engines', 'bundle-signature.yaml'), ENGINES_SIGNATURE);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  async function base(gpus?: ReadonlySet<string>) {
    const loaded = await loadBundleFile(join(root, 'engines', 'bundle.yaml'));
    return composeBase(loaded, ENGINES_SIGNATURE, { baseDir: join(root, 'out', 'base'), bundleLabel: 'bundle.yaml', gpus });
  }

  it('validates against the compose specification', async () => {
    const { compose } = await base(new Set(['triton-model']));
    expect(validateCompose(compose)).toEqual([]);
  });

  it("runs each engine's stock image with its own flags and health check", async () => {
    const { compose } = await base();
    const s = compose.services;
    expect(s['sovms-models']).toMatchObject({ image: 'openvino/model_server:2025.0', command: ['--config_path', '/config/config.json', '--port', '9000', '--rest_port', '8001'] });
    expect((s['sovms-models']?.healthcheck?.['test'] as string[]).slice(0, 3)).toEqual(['CMD', 'bash', '-c']);
    expect(s['striton-models']).toMatchObject({
      image: 'nvcr.io/nvidia/tritonserver:24.12-py3',
      command: ['tritonserver', '--model-repository=/models', '--model-control-mode=explicit', '--load-model=triton-model', '--grpc-port=8001', '--http-port=8000'],
    });
    expect(s['stfs-models']).toMatchObject({ image: 'tensorflow/serving:2.18.0', environment: { MODEL_NAME: 'tfs-model', MODEL_BASE_PATH: '/models' } });
    expect(s['stfs-models']?.command).toBeUndefined();
    expect((s['stfs-models']?.healthcheck?.['test'] as string[])[3]).toContain("GET /v1/models/tfs-model HTTP/1.1");
    expect(s['scustom-models']?.image).toBe('registry.example/onnx-serving:gpu');
  });

  it('turns replicas into deploy.replicas and model ids with "-" into variable names with "_"', async () => {
    const { compose } = await base();
    const deploy = compose.services['striton-models']?.deploy as { replicas: number; resources: { limits: { cpus: string } } };
    expect(deploy.replicas).toBe(3);
    expect(deploy.resources.limits.cpus).toBe('${SERVING_triton_model_CPU_LIMIT:-2}');
    expect(compose.services['sovms-models']?.deploy?.['replicas']).toBeUndefined();
  });

  it('reserves a GPU only for the models opted in', async () => {
    const { compose } = await base(new Set(['triton-model']));
    const devices = (name: string) => (compose.services[name]?.deploy as { resources: { reservations: { devices?: unknown } } }).resources.reservations.devices;
    expect(devices('striton-models')).toEqual([{ driver: 'nvidia', count: '${SERVING_triton_model_GPU_COUNT:-1}', capabilities: ['gpu'] }]);
    expect(devices('sovms-models')).toBeUndefined();
  });

  it('warns where bundle.yaml asks for something an engine cannot apply', async () => {
    const { warnings } = await base();
    expect(warnings).toEqual(['model triton-model: version 2 is not pinned for triton; it serves the latest version found']);
  });

  it('keeps bucket sources in the container bundle and mounts no bucket', async () => {
    const { files, compose } = await base();
    expect(parse(files.get('bundle/bundle.yaml') as string)).toMatchObject({
      source: 's3://models-bucket/prod',
      models: expect.arrayContaining([{ id: 'tfs-model', engine: 'tfserving', source: 'gs://other-bucket/tf' }, { id: 'triton-model', engine: 'triton', replicas: 3, version: 2 }]),
    });
    expect(compose.services['model_download']?.volumes?.some((v) => String(v['target']).startsWith('/buckets'))).toBe(false);
    expect([...files.keys()].filter((f) => f.startsWith('serving/'))).toEqual(['serving/sovms-models.json', 'serving/scustom-models.json']);
  });
});

describe('regenerating after a bundle change', () => {
  let root: string;
  let bundle: string;
  let out: string;
  beforeEach(async () => {
    ({ root, bundle } = await demoTree());
    out = join(root, 'deploy', 'examples', 'compose');
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('rewrites base/ only: example/ edits survive, a removed model leaves no trace in base/', async () => {
    const first = await generateCompose({ bundlePath: bundle, outDir: out });
    expect(first.exampleWritten).toHaveLength(5);
    // the user's edits
    const conf = join(out, 'example/conf/bundle/.env');
    await writeFile(conf, `${await readFile(conf, 'utf8')}\n# tuned by hand\nSERVING_${ANOMALY}_MEM_LIMIT=8g\n`);
    await writeFile(join(out, 'example/README.md'), '# our deployment notes\n');
    const exampleBefore = await readTree(join(out, 'example'));
    // the bundle changes: the fraud model is replaced by a triton one
    const text = (await readFile(bundle, 'utf8')).replace(`  - id: ${FRAUD}\n    engine: onnx-serving\n`, '  - id: new-model\n    engine: triton\n');
    await writeFile(bundle, text);
    await writeFile(join(root, 'deploy/demo/bundle-signature.yaml'), (await readFile(join(root, 'deploy/demo/bundle-signature.yaml'), 'utf8')).replace(FRAUD, 'new-model'));

    const second = await generateCompose({ bundlePath: bundle, outDir: out });
    expect(second.exampleWritten).toEqual([]);
    expect(second.exampleKept).toHaveLength(5);
    expect(await readTree(join(out, 'example'))).toEqual(exampleBefore);
    const base = await readTree(join(out, 'base'));
    expect([...base.keys()]).toEqual(['bundle/bundle-signature.yaml', 'bundle/bundle.yaml', 'docker-compose.yaml', `serving/s${ANOMALY}s.json`]);
    const compose = parse(base.get('docker-compose.yaml') as string) as ComposeFile;
    expect(Object.keys(compose.services)).toEqual(['model_download', `s${ANOMALY}s`, 'snew-models', 'gateway', 'model_proxy']);
    expect(base.get('bundle/bundle-signature.yaml')).toContain('new-model');
    expect(second.warnings).toEqual([
      'example/conf/bundle/.env has no SERVING_new_model_CPU_LIMIT, SERVING_new_model_MEM_LIMIT, SERVING_new_model_CPU_RESERVATION, SERVING_new_model_MEM_RESERVATION: defaults apply until you add them',
    ]);
  });

  it('writes back an example file the user deleted, and only that one', async () => {
    await generateCompose({ bundlePath: bundle, outDir: out });
    await writeFile(join(out, 'example/.env'), 'REL_DIR=/somewhere/else\n');
    await unlink(join(out, 'example/README.md'));
    const again = await generateCompose({ bundlePath: bundle, outDir: out });
    expect(again.exampleWritten).toEqual(['README.md']);
    expect(await readFile(join(out, 'example/.env'), 'utf8')).toBe('REL_DIR=/somewhere/else\n');
  });

  it('bind-mounts a file:// source far from the output by its absolute path', async () => {
    const far = join(root, 'far', 'away', 'out');
    const result = await generateCompose({ bundlePath: bundle, outDir: far });
    const compose = parse(await readFile(join(result.baseDir, 'docker-compose.yaml'), 'utf8')) as ComposeFile;
    const bucket = compose.services['model_download']?.volumes?.find((v) => v['target'] === '/buckets/1');
    expect(bucket?.['source']).toBe('../../../../deploy/demo/bucket/models');
    // the bundle lives under the OS temp dir; an output under another top-level dir shares only "/" with it
    const otherTop = tmpdir().startsWith('/var/tmp') ? '/dev/shm' : '/var/tmp';
    const elsewhere = await generateCompose({ bundlePath: bundle, outDir: join(otherTop, `bundlegate-compose-far-${process.pid}`) });
    try {
      const c2 = parse(await readFile(join(elsewhere.baseDir, 'docker-compose.yaml'), 'utf8')) as ComposeFile;
      expect(c2.services['model_download']?.volumes?.find((v) => v['target'] === '/buckets/1')?.['source']).toBe(join(root, 'deploy/demo/bucket/models'));
    } finally {
      await rm(elsewhere.baseDir.replace(/\/base$/, ''), { recursive: true, force: true });
    }
  });
});
