import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse } from 'yaml';
import type { ComposeFile } from './compose';
import { generateCompose } from './generate-compose';
import { DEMO_DIR, DEMO_IDS, REPO_ROOT } from './testing/fixtures';
import { appMain } from './up';

// The config and flags `generate compose` writes for an onnx-serving model, run by the built onnx-serving
// over a repository holding versions 1, 2 and 3: it must serve the versions the policy names, with as many
// sessions as nireq asks. Needs `npm run build` (CI builds before testing).
const SERVER = appMain(REPO_ROOT, 'onnx-serving');
const DEMO_MODEL = join(DEMO_DIR, 'bucket', 'models', DEMO_IDS[1], '1', 'model.onnx');
const ID = 'fraud-check';

const SIGNATURE = `models:
  b:
    backendInferenceEngine: onnx
    models:
      - id: ${ID}
        modelSgn: {inputs: [{typeId: Image, params: {imageInputKey: image_input}}], outputs: [{typeId: Tensor, params: {keyName: label}}]}
`;

interface LogLine {
  msg?: string;
  grpcPort?: number;
  restPort?: number;
  model?: string;
  version?: number;
  sessions?: number;
  intraOpThreads?: number;
  executor?: string;
}

interface Running {
  child: ChildProcess;
  logs: LogLine[];
  rest: string;
}

/** Writes bundle.yaml with `options`, generates compose, and starts onnx-serving with the generated command and config.json. */
async function serveGenerated(root: string, options: string): Promise<Running> {
  const bundle = join(root, 'bundle.yaml');
  await writeFile(
    bundle,
    `name: versions\nsignature: s.yaml\nsource: file://./bucket\nmodels:\n  - id: ${ID}\n    engine: onnx-serving\n    options: ${options}\n`,
  );
  await writeFile(join(root, 's.yaml'), SIGNATURE);
  const out = join(root, 'out');
  await generateCompose({ bundlePath: bundle, outDir: out });
  const service = (parse(await readFile(join(out, 'base', 'docker-compose.yaml'), 'utf8')) as ComposeFile).services[`s${ID}s`];
  const config = JSON.parse(await readFile(join(out, 'base', 'serving', `s${ID}s.json`), 'utf8')) as { model_config_list: { config: { base_path: string } }[] };
  // the one thing that differs outside a container: where the models are mounted
  const entry = config.model_config_list[0]?.config;
  expect(entry?.base_path).toBe(`/models/${ID}`);
  if (entry !== undefined) entry.base_path = join(root, 'models', ID);
  const configPath = join(root, 'config.json');
  await writeFile(configPath, JSON.stringify(config));

  const args = [...(service?.command ?? [])];
  const set = (flag: string, value: string) => args.splice(args.indexOf(flag) + 1, 1, value);
  expect(args.slice(0, 2)).toEqual(['--config_path', '/config/config.json']);
  set('--config_path', configPath);
  set('--port', '0');
  set('--rest_port', '0');
  args.push('--grpc_bind_address', '127.0.0.1', '--rest_bind_address', '127.0.0.1');

  const child = spawn(process.execPath, [SERVER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (d: Buffer) => stderr.push(d.toString()));
  const serving = new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as LogLine;
        logs.push(parsed);
        if (parsed.msg === 'serving') resolve();
      } catch {
        // not a log record
      }
    });
    child.once('exit', (code) => reject(new Error(`onnx-serving exited ${code} before serving: ${stderr.join('')}`)));
  });
  await serving;
  const restPort = logs.find((l) => l.msg === 'listening')?.restPort;
  return { child, logs, rest: `http://127.0.0.1:${restPort}` };
}

async function stop(running: Running | undefined): Promise<void> {
  if (running === undefined || running.child.exitCode !== null) return;
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
}

const status = async (url: string): Promise<number> => (await fetch(url)).status;

(existsSync(SERVER) ? describe : describe.skip)('onnx-serving honours the version policy and nireq of the generated config', () => {
  let root: string;
  let running: Running | undefined;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'bundlegate-onnx-options-'));
    for (const version of ['1', '2', '3']) {
      await mkdir(join(root, 'models', ID, version), { recursive: true });
      await copyFile(DEMO_MODEL, join(root, 'models', ID, version, 'model.onnx'));
    }
  });
  afterEach(async () => {
    await stop(running);
    running = undefined;
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('specific [1, 3] with nireq 3: versions 1 and 3 are served, 2 is not, each with 3 sessions', async () => {
    running = await serveGenerated(
      root,
      '{model_version_policy: {specific: {versions: [1, 3]}}, nireq: 3, plugin_config: {intra_op_num_threads: 1, executor: worker}, log_level: INFO, file_system_poll_wait_seconds: 0}',
    );
    const model = `${running.rest}/v2/models/${ID}`;
    expect([await status(`${model}/versions/1/ready`), await status(`${model}/versions/2/ready`), await status(`${model}/versions/3/ready`)]).toEqual([
      200, 404, 200,
    ]);
    expect(((await (await fetch(model)).json()) as { versions: string[] }).versions).toEqual(['3', '1']);
    const ovmsStatus = (await (await fetch(`${running.rest}/v1/config`)).json()) as Record<
      string,
      { model_version_status: { version: string; state: string }[] }
    >;
    expect(ovmsStatus[ID]?.model_version_status.map((v) => [v.version, v.state])).toEqual([
      ['1', 'AVAILABLE'],
      ['3', 'AVAILABLE'],
    ]);
    // nireq is visible only in onnx-serving's own record of each loaded version: its runner's sessions
    const loaded = running.logs.filter((l) => l.msg === 'model version available' && l.model === ID);
    expect(loaded.map((l) => [l.version, l.sessions, l.intraOpThreads, l.executor]).sort()).toEqual([
      [1, 3, 1, 'worker'],
      [3, 3, 1, 'worker'],
    ]);
  }, 60_000);

  it('latest 2 with nireq 1: versions 2 and 3 are served, each with one session', async () => {
    running = await serveGenerated(root, '{model_version_policy: {latest: {num_versions: 2}}, nireq: 1, file_system_poll_wait_seconds: 0}');
    const model = `${running.rest}/v2/models/${ID}`;
    expect([await status(`${model}/versions/1/ready`), await status(`${model}/versions/2/ready`), await status(`${model}/versions/3/ready`)]).toEqual([
      404, 200, 200,
    ]);
    expect(((await (await fetch(model)).json()) as { versions: string[] }).versions).toEqual(['3', '2']);
    const loaded = running.logs.filter((l) => l.msg === 'model version available' && l.model === ID);
    expect(loaded.map((l) => [l.version, l.sessions]).sort()).toEqual([
      [2, 1],
      [3, 1],
    ]);
  }, 60_000);
});
