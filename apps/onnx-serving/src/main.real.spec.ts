import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { addVersion, ANOMALY } from '../test/harness';

// The built process: flags, exit codes, and a SIGTERM that lets the request in flight finish.

const APP = resolve(__dirname, '..');
const MAIN = join(APP, 'dist/main.js');

beforeAll(() => {
  const built = spawnSync(process.execPath, ['../../tools/scripts/build-app.mjs'], { cwd: APP, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`build failed: ${built.stderr}`);
});

function run(args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly exited: Promise<number | null>;
  /** Every JSON log line so far. */
  readonly lines: Record<string, unknown>[];
  readonly restPort: number;
}

/** The built server on 127.0.0.1 port 0 with `args`, once it has logged `ready` (and `listening`). */
async function start(args: string[], ready: string): Promise<Started> {
  const child = spawn(process.execPath, [
    MAIN,
    ...args,
    ...['--port', '0', '--rest_port', '0', '--grpc_bind_address', '127.0.0.1', '--rest_bind_address', '127.0.0.1'],
  ]);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const lines: Record<string, unknown>[] = [];
  createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
  const until = Date.now() + 20_000;
  while (!lines.some((l) => l.msg === ready) || !lines.some((l) => l.msg === 'listening')) {
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`no "${ready}" line: ${JSON.stringify(lines)}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return { child, exited, lines, restPort: lines.find((l) => l.msg === 'listening')?.restPort as number };
}

describe('onnx-serving process', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-serving-main-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('exits 2 listing every bad setting', () => {
    const r = run(['--model_path', dir, '--port', 'x', '--rest_port', '-1', '--bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('onnx-serving: invalid configuration (3 problems):');
    expect(r.stderr).toContain('--bogus: unknown flag');
    expect(r.stderr).toContain('--port / ONNX_SERVING_GRPC_PORT: "x" (from --port): expected an integer 0..65535');
    expect(r.stderr).toContain('--rest_port / ONNX_SERVING_REST_PORT: "-1" (from --rest_port): expected an integer 0..65535');
  });

  it('exits 2 on an invalid config.json, naming each problem', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ model_config_list: [{ config: { name: 'a', base_path: 'a', nireq: 0 } }, { config: { name: 'a', base_path: 'b' } }] }));
    const r = run(['--config_path', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('model_config_list[0].config.nireq must be a positive integer, got 0');
    expect(r.stderr).toContain('model_config_list[1].config.name "a" is used by an earlier model');
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    await addVersion(join(dir, 'anomaly'), 1, ANOMALY);
    const { child, exited, lines, restPort } = await start(['--model_path', join(dir, 'anomaly'), '--model_name', 'anomaly'], 'serving');
    try {
      const body = Buffer.from(JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], data: new Array(150528).fill(0.5) }] }));
      const response = new Promise<{ status: number; body: string }>((resolveResponse, reject) => {
        const req = request({ host: '127.0.0.1', port: restPort, method: 'POST', path: '/v2/models/anomaly/infer', headers: { 'content-length': body.length } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        });
        req.on('error', reject);
        // half the body now, the rest after SIGTERM: the request is in flight across the signal
        req.write(body.subarray(0, body.length / 2));
        setTimeout(() => {
          child.kill('SIGTERM');
          setTimeout(() => req.end(body.subarray(body.length / 2)), 300);
        }, 100);
      });
      const answer = await response;
      expect(answer.status).toBe(200);
      expect(JSON.parse(answer.body)).toMatchObject({ model_name: 'anomaly', outputs: [{ name: 'output', shape: [1, 14, 14, 768] }] });
      expect(await exited).toBe(0);
      expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'model version unloaded', 'stopped']));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('answers readiness probes of a model with no version yet with 503, and logs no error for them', async () => {
    const { child, exited, lines, restPort } = await start(['--model_path', dir, '--model_name', 'empty', '--log_level', 'INFO'], 'listening');
    try {
      for (let i = 0; i < 3; i++) {
        const status = await new Promise<number>((resolveStatus, reject) => {
          const req = request({ host: '127.0.0.1', port: restPort, path: '/v2/models/empty/ready' }, (res) => {
            res.resume();
            res.on('end', () => resolveStatus(res.statusCode ?? 0));
          });
          req.on('error', reject);
          req.end();
        });
        expect(status).toBe(503);
      }
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(lines.filter((l) => (l.level === 'error' || l.level === 'fatal') && l.code === 'BG_MODEL_NOT_READY')).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
