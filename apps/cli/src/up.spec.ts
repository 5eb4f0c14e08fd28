import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBundleFile, parseBundle, parseSignature, type LoadedBundle } from '@bundlegate/bundle';
import { DEFAULT_STACK_PORTS, portsFromBase } from './ports';
import { demoTree, DEMO_DIR, DEMO_IDS, REPO_ROOT, writeText } from './testing/fixtures';
import { appEnv, appMain, appNodeFlags, planUp, UpPlanError, upBanner } from './up';

const [ANOMALY, FRAUD] = DEMO_IDS;
const WORK = '/w/up';

describe('planUp on the demo bundle', () => {
  let demo: LoadedBundle;
  beforeAll(async () => {
    demo = await loadBundleFile(join(DEMO_DIR, 'bundle.yaml'));
  });

  it('downloads into the work dir, then runs onnx-serving, the gateway and the proxy with the default ports', () => {
    const plan = planUp(demo, { repoRoot: REPO_ROOT, workDir: WORK, ports: DEFAULT_STACK_PORTS, node: '/usr/bin/node' });
    expect(plan.jobs.map((j) => [j.spec.name, j.spec.command, ...j.spec.args])).toEqual([
      ['model-download', '/usr/bin/node', appMain(REPO_ROOT, 'model-download'), '--bundle', join(DEMO_DIR, 'bundle.yaml'), '--models-dir', `${WORK}/models`],
    ]);
    // node flags the app declares, its dist/main.js, then its arguments
    const rest = (s: (typeof plan.services)[number]) => s.spec.args.slice(appNodeFlags(REPO_ROOT, s.spec.name).length + 1);
    expect(plan.services.map((s) => [s.spec.name, ...rest(s)])).toEqual([
      ['onnx-serving', '--config_path', `${WORK}/onnx-serving.config.json`, '--port', '9000', '--rest_port', '8001'],
      ['gateway', '--route', `${ANOMALY}=127.0.0.1:9000`, '--rest_route', `${ANOMALY}=127.0.0.1:8001`, '--route', `${FRAUD}=127.0.0.1:9000`, '--rest_route', `${FRAUD}=127.0.0.1:8001`, '--port', '8080', '--rest_port', '8081'],
      ['model-proxy', '--signature', join(DEMO_DIR, 'bundle-signature.yaml'), '--gateway', '127.0.0.1:8080', '--http_port', '8000', '--grpc_port', '8005'],
    ]);
    expect(plan.services.map((s) => s.spec.args.slice(0, appNodeFlags(REPO_ROOT, s.spec.name).length + 1))).toEqual(
      (['onnx-serving', 'gateway', 'model-proxy'] as const).map((app) => [...appNodeFlags(REPO_ROOT, app), appMain(REPO_ROOT, app)]),
    );
    expect(appNodeFlags(REPO_ROOT, 'gateway')).toEqual(['--max-semi-space-size=4', '--heap-growing-percent=300']);
    // model-download's declared environment, under the caller's
    const download = plan.jobs[0]?.spec;
    expect(download?.name).toBe('model-download');
    expect(download?.env).toMatchObject(appEnv(REPO_ROOT, 'model-download'));
    expect(Object.keys(appEnv(REPO_ROOT, 'model-download'))).toContain('MALLOC_TRIM_THRESHOLD_');
    const overridden = planUp(demo, { repoRoot: REPO_ROOT, workDir: WORK, ports: DEFAULT_STACK_PORTS, env: { PATH: '/bin', MALLOC_TRIM_THRESHOLD_: '1' } });
    expect(overridden.jobs[0]?.spec.env).toEqual({ ...appEnv(REPO_ROOT, 'model-download'), PATH: '/bin', MALLOC_TRIM_THRESHOLD_: '1' });
    // apps that declare none get the caller's environment as it is
    expect(overridden.services.find((s) => s.spec.name === 'gateway')?.spec.env).toEqual({ PATH: '/bin', MALLOC_TRIM_THRESHOLD_: '1' });
  });

  it('waits on the real ready endpoints: KServe ready per model, /readyz of the gateway and the proxy', () => {
    const plan = planUp(demo, { repoRoot: REPO_ROOT, workDir: WORK, ports: portsFromBase(20000) });
    expect(plan.services.map((s) => (s.probes ?? []).map((p) => p.description))).toEqual([
      [`GET http://127.0.0.1:20005/v2/models/${ANOMALY}/ready`, `GET http://127.0.0.1:20005/v2/models/${FRAUD}/ready`],
      ['GET http://127.0.0.1:20003/readyz'],
      ['GET http://127.0.0.1:20000/readyz'],
    ]);
  });

  it('writes onnx-serving its config.json listing every model under the download dir, before starting it', async () => {
    const work = await mkdtemp(join(tmpdir(), 'bundlegate-up-'));
    try {
      const plan = planUp(demo, { repoRoot: REPO_ROOT, workDir: work, ports: DEFAULT_STACK_PORTS });
      await plan.jobs[0]?.before?.();
      await plan.services[0]?.before?.();
      expect(JSON.parse(await readFile(join(work, 'onnx-serving.config.json'), 'utf8'))).toEqual({
        model_config_list: DEMO_IDS.map((id) => ({ config: { name: id, base_path: join(work, 'models', id) } })),
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('prints the URLs, a config curl and a predict curl per image model with a demo sample', () => {
    const banner = upBanner(demo, { ports: DEFAULT_STACK_PORTS, cwd: REPO_ROOT });
    expect(banner).toContain('model-proxy    http://127.0.0.1:8000  (gRPC 127.0.0.1:8005)');
    expect(banner).toContain('  curl http://127.0.0.1:8000/api/v1/config\n');
    expect(banner).toContain(`  curl -F input=@deploy/demo/samples/gradient-320x240.jpg http://127.0.0.1:8000/api/v1/models/${ANOMALY}/predict\n`);
    expect(banner).toContain(`  curl -F image_input=@deploy/demo/samples/gradient-320x240.jpg http://127.0.0.1:8000/api/v1/models/${FRAUD}/predict\n`);
    // from a directory the samples are not below, the path is shown absolute
    expect(upBanner(demo, { ports: DEFAULT_STACK_PORTS, cwd: join(DEMO_DIR, 'elsewhere') })).toContain(`-F input=@${DEMO_DIR}/samples/gradient-320x240.jpg`);
  });
});

describe('planUp with models up cannot serve', () => {
  let root: string;
  let loaded: LoadedBundle;
  beforeAll(async () => {
    ({ root } = await demoTree());
    await writeText(join(root, 'm/bundle.yaml'), `name: m\nsignature: ../deploy/demo/bundle-signature.yaml\nsource: file://./bucket\nmodels:\n  - id: ${ANOMALY}\n    engine: triton\n  - id: ${FRAUD}\n    engine: onnx-serving\n`);
    loaded = await loadBundleFile(join(root, 'm/bundle.yaml'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('asks for a --route for each model another engine serves, and names every problem', () => {
    const attempt = () => planUp(loaded, { repoRoot: REPO_ROOT, workDir: WORK, ports: DEFAULT_STACK_PORTS, routes: new Map([[FRAUD, 'x:1'], ['ghost', 'y:2']]) });
    expect(attempt).toThrow(UpPlanError);
    expect(() => attempt()).toThrow(
      [
        `model ${ANOMALY} is served by triton, which up cannot start: run it yourself and pass --route ${ANOMALY}=HOST:PORT`,
        `model ${FRAUD} is served by the local onnx-serving; drop --route ${FRAUD}`,
        `--route ghost: no model ghost in ${join(root, 'm/bundle.yaml')}`,
      ].join('\n'),
    );
  });

  it('routes an externally served model where --route says, and serves only the rest locally', () => {
    const plan = planUp(loaded, { repoRoot: REPO_ROOT, workDir: WORK, ports: DEFAULT_STACK_PORTS, routes: new Map([[ANOMALY, 'gpu-box:8001,gpu-box2:8001']]) });
    const gateway = plan.services.find((s) => s.spec.name === 'gateway');
    const after = appNodeFlags(REPO_ROOT, 'gateway').length + 1; // node flags, then dist/main.js
    expect(gateway?.spec.args.slice(after, after + 6)).toEqual(['--route', `${ANOMALY}=gpu-box:8001,gpu-box2:8001`, '--route', `${FRAUD}=127.0.0.1:9000`, '--rest_route', `${FRAUD}=127.0.0.1:8001`]);
    expect(plan.servingConfig?.model_config_list.map((c) => c.config.name)).toEqual([FRAUD]);
  });
});

describe('planUp with engine options', () => {
  const SIGNATURE = parseSignature(
    'models:\n  o:\n    backendInferenceEngine: onnx\n    models:\n      - {id: a, modelSgn: {inputs: [{typeId: Scalar, params: {scalarInputKey: x}}], outputs: [{typeId: Tensor, params: {keyName: y}}]}}\n',
    '/o/s.yaml',
  );
  const plan = (models: string, env?: NodeJS.ProcessEnv) =>
    planUp({ bundle: parseBundle(`name: o\nsignature: s.yaml\nsource: file:///srv/bucket\nmodels:\n${models}`, '/o/bundle.yaml'), signature: SIGNATURE }, {
      repoRoot: REPO_ROOT,
      workDir: WORK,
      ports: DEFAULT_STACK_PORTS,
      env,
    });

  it('puts each model setting in config.json and the server settings the models share on the command line', () => {
    const p = plan(
      [
        '  - {id: a, engine: onnx-serving, options: {nireq: 2, model_version_policy: {all: {}}, log_level: DEBUG}, environment: {OMP_WAIT_POLICY: PASSIVE}}',
        '  - {id: b, engine: onnx-serving, options: {plugin_config: {executor: inline}, log_level: DEBUG}}',
        '',
      ].join('\n'),
      { PATH: '/bin' },
    );
    expect(p.servingConfig?.model_config_list.map((e) => e.config)).toEqual([
      { name: 'a', base_path: `${WORK}/models/a`, nireq: 2, model_version_policy: { all: {} } },
      { name: 'b', base_path: `${WORK}/models/b`, plugin_config: { executor: 'inline' } },
    ]);
    const serving = p.services[0]?.spec;
    expect(serving?.args.slice(-2)).toEqual(['--log_level', 'DEBUG']);
    expect(serving?.env).toEqual({ PATH: '/bin', OMP_WAIT_POLICY: 'PASSIVE' });
  });

  it('refuses server settings the models of its one onnx-serving disagree on', () => {
    expect(() =>
      plan(
        [
          '  - {id: a, engine: onnx-serving, options: {file_system_poll_wait_seconds: 5}, environment: {X: "1"}}',
          '  - {id: b, engine: onnx-serving, environment: {X: "2"}}',
          '',
        ].join('\n'),
      ),
    ).toThrow(
      [
        'models a and b ask onnx-serving for different server settings (--file_system_poll_wait_seconds 5 vs none); up runs one onnx-serving for both: give them the same',
        'models a and b set environment X differently; up runs one onnx-serving for both',
      ].join('\n'),
    );
  });
});
