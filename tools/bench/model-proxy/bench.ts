// Model-proxy benchmark: Predict on a 224×224 JPEG through the proxy (→ gateway → onnx-serving) against a direct
// KServe ModelInfer with a pre-built tensor to the same onnx-serving, in the same run, at concurrency 1 and 16.
// Prints p50/p99 per path, the proxy's added latency, and where it goes (decode, encode, gateway hop, backend).
// Run through run.mjs (it bundles this file); not a test: it prints, it does not assert speed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { bgv1, kserve } from '@bundlegate/protos';
import { serializeModelInferRequest } from '@bundlegate/model-proxy';
import { createImageDecoder, toModelInferRequest } from '@bundlegate/tensors';
import sharp from 'sharp';
import { serviceNodeFlags } from '../node-flags.mjs';

const ROOT = process.env['BENCH_ROOT'] as string;
const MODEL = '6687ad3b04248f708c1e0c95';
const DEMO = join(ROOT, 'deploy', 'demo');
const MIB = 1024 * 1024;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}
const REQUESTS = arg('requests', 300);
const ROUNDS = arg('rounds', 3);
const concurrencyArg = process.argv.indexOf('--concurrency');
const CONCURRENCY = concurrencyArg === -1 ? [1, 16] : (process.argv[concurrencyArg + 1] ?? '').split(',').map(Number);

// ---- services from their built dist/main.js

interface Service {
  readonly child: ChildProcess;
  readonly lines: Map<string, Record<string, unknown>>;
}

function start(app: string, args: string[], waitFor: string[]): Promise<Service> {
  const child = spawn(process.execPath, [...serviceNodeFlags(ROOT, app), join(ROOT, 'apps', app, 'dist', 'main.js'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = new Map<string, Record<string, unknown>>();
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${app} exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        if (typeof line['msg'] === 'string' && waitFor.includes(line['msg'])) lines.set(line['msg'], line);
        if (lines.size === waitFor.length) resolve({ child, lines });
      } catch {
        // not a log line (say, --trace-gc output): pass it on
        process.stderr.write(`${app}: ${text}\n`);
      }
    });
  });
}

// ---- clients

function grpcClient(address: string): Client {
  return new Client(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 100 * MIB, 'grpc.max_send_message_length': 100 * MIB });
}

function unary<T>(client: Client, path: string, body: Buffer, decode: (b: Buffer) => T, metadata: Metadata): Promise<T> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(path, (b: Buffer) => b, decode, body, metadata, (err, res) => (err || res === undefined ? reject(err ?? new Error('empty')) : resolve(res))),
  );
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

function httpPost(port: number, path: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': String(body.byteLength) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---- measurement

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** `n` calls, `concurrency` at a time; latency of each in ms. */
async function load(n: number, concurrency: number, call: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const t0 = performance.now();
      await call();
      times.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return times;
}

function microbench(n: number, fn: () => unknown): number[] {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

async function microbenchAsync(n: number, fn: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b);
}

const fmt = (ms: number): string => ms.toFixed(2).padStart(7);

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'bg-bench-proxy-'));
  const configPath = join(tmp, 'config.json');
  writeFileSync(configPath, JSON.stringify({ model_config_list: [{ config: { name: MODEL, base_path: join(DEMO, 'bucket', 'models', MODEL) } }] }));
  const serving = await start('onnx-serving', ['--config_path', configPath, '--port', '0', '--rest_port', '0', '--grpc_bind_address', '127.0.0.1', '--rest_bind_address', '127.0.0.1', '--log_level', 'INFO'], ['listening', 'serving']);
  const servingPort = Number(serving.lines.get('listening')?.['grpcPort']);
  const gateway = await start('gateway', ['--host', '127.0.0.1', '--port', '0', '--rest_port', '0', '--route', `${MODEL}=127.0.0.1:${servingPort}`], ['gateway listening']);
  const gatewayPort = Number(gateway.lines.get('gateway listening')?.['grpcPort']);
  const proxyService = await start(
    'model-proxy',
    ['--signature', join(DEMO, 'bundle-signature.yaml'), '--gateway', `127.0.0.1:${gatewayPort}`, '--host', '127.0.0.1', '--http_port', '0', '--grpc_port', '0', '--readiness_interval', '10s'],
    ['model proxy listening'],
  );
  const proxyHttp = Number(proxyService.lines.get('model proxy listening')?.['httpPort']);
  const proxyGrpc = Number(proxyService.lines.get('model proxy listening')?.['grpcPort']);

  // the 224×224 JPEG a client sends, and the tensor the proxy makes of it (pre-built for the direct call)
  const jpeg = await sharp(readFileSync(join(DEMO, 'samples', 'shapes-640x480.jpg'))).resize(224, 224, { fit: 'fill' }).jpeg({ quality: 90 }).toBuffer();
  const decoder = createImageDecoder({ name: 'input', resize: { height: 224, width: 224 }, layout: 'NCHW', channelOrder: 'RGB', dtype: 'FP32' });
  const tensor = await decoder.decode(jpeg);
  const direct = Buffer.from(kserve.ModelInferRequest.encode(toModelInferRequest({ modelName: MODEL, inputs: [tensor], outputs: ['output'] })).finish());
  const decodeInfer = (b: Buffer): number => b.byteLength;

  const servingClient = grpcClient(`127.0.0.1:${servingPort}`);
  const gatewayClient = grpcClient(`127.0.0.1:${gatewayPort}`);
  const proxyClient = grpcClient(`127.0.0.1:${proxyGrpc}`);
  const withModel = new Metadata();
  withModel.set('model-id', MODEL);
  const noMetadata = new Metadata();

  const boundary = 'bundlegate-bench-boundary';
  const multipart = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="input"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    jpeg,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const predictRequest = Buffer.from(bgv1.PredictRequest.encode({ modelId: MODEL, inputs: { input: { image: jpeg } } }).finish());
  type StageTimings = { preprocessMs: number; backendMs: number; postprocessMs: number };
  // the stage times each answer reports, by protocol and concurrency
  const proxyTimings = new Map<number, StageTimings[]>();
  const grpcTimings = new Map<number, StageTimings[]>();
  let measuring = 0;
  const keep = (into: Map<number, StageTimings[]>, t: StageTimings | null | undefined): void => {
    if (measuring > 0 && t) into.set(measuring, [...(into.get(measuring) ?? []), { preprocessMs: t.preprocessMs, backendMs: t.backendMs, postprocessMs: t.postprocessMs }]);
  };

  const allPaths: Record<string, () => Promise<unknown>> = {
    'direct ModelInfer (pre-built tensor) → onnx-serving': () => unary(servingClient, '/inference.GRPCInferenceService/ModelInfer', direct, decodeInfer, noMetadata),
    'ModelInfer (pre-built tensor) → gateway → onnx-serving': () => unary(gatewayClient, '/inference.GRPCInferenceService/ModelInfer', direct, decodeInfer, withModel),
    'proxy gRPC Predict (JPEG) → gateway → onnx-serving': () =>
      unary(proxyClient, '/bundlegate.v1.ModelProxy/Predict', predictRequest, (b) => {
        const answer = bgv1.PredictResponse.decode(b);
        keep(grpcTimings, answer.timings);
        return answer;
      }, noMetadata),
    'proxy HTTP multipart (JPEG, ?encoding=base64)': async () => {
      const res = await httpPost(proxyHttp, `/api/v1/models/${MODEL}/predict?encoding=base64`, { 'content-type': `multipart/form-data; boundary=${boundary}` }, multipart);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body.toString().slice(0, 200)}`);
      keep(proxyTimings, (JSON.parse(res.body.toString()) as { timings: StageTimings }).timings);
    },
    'proxy HTTP multipart (JPEG, nested JSON grid)': async () => {
      const res = await httpPost(proxyHttp, `/api/v1/models/${MODEL}/predict`, { 'content-type': `multipart/form-data; boundary=${boundary}` }, multipart);
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    },
  };

  // --only <text>: the direct call plus the paths whose name contains <text> (say, to profile one path alone)
  const onlyArg = process.argv.indexOf('--only');
  const only = onlyArg === -1 ? '' : (process.argv[onlyArg + 1] ?? '');
  const paths = Object.fromEntries(Object.entries(allPaths).filter(([name], i) => i === 0 || name.includes(only)));

  // warm every path (JIT, connections, sessions)
  for (const call of Object.values(paths)) await load(30, 4, call);

  const results: Record<string, Record<number, { p50: number; p99: number; n: number }>> = {};
  for (const concurrency of CONCURRENCY) {
    measuring = concurrency;
    const samples: Record<string, number[]> = {};
    // interleaved rounds so drift (thermal, other load) hits every path alike
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, call] of Object.entries(paths)) {
        const n = name.includes('nested') ? Math.ceil(REQUESTS / 3) : REQUESTS;
        (samples[name] ??= []).push(...(await load(n, concurrency, call)));
      }
    }
    for (const [name, times] of Object.entries(samples)) {
      times.sort((a, b) => a - b);
      (results[name] ??= {})[concurrency] = { p50: percentile(times, 50), p99: percentile(times, 99), n: times.length };
    }
  }

  // stage costs, measured alone in this process
  const decodeTimes = await microbenchAsync(200, () => decoder.decode(jpeg));
  const encodeTimes = microbench(500, () => serializeModelInferRequest(toModelInferRequest({ modelName: MODEL, inputs: [tensor], outputs: ['output'] })));
  const generatedEncodeTimes = microbench(500, () => Buffer.from(kserve.ModelInferRequest.encode(toModelInferRequest({ modelName: MODEL, inputs: [tensor], outputs: ['output'] })).finish()));
  const grid = new Float32Array(14 * 14 * 768).fill(0.123456);
  const base64Times = microbench(300, () => Buffer.from(grid.buffer).toString('base64'));

  const row = (name: string, c: number): string => {
    const r = results[name]?.[c];
    return r === undefined ? '' : `${fmt(r.p50)} ${fmt(r.p99)}`;
  };
  const names = Object.keys(paths);
  const [directName, gatewayName, grpcName, httpName, nestedName] = Object.keys(allPaths) as [string, string, string, string, string];
  console.log(`\nmodel-proxy benchmark: ${MODEL} (visual-anomaly, 224×224 JPEG → FP32 [1,3,224,224] → [1,14,14,768]); ${REQUESTS}×${ROUNDS} calls per path and concurrency\n`);
  console.log(`${'path'.padEnd(58)}  c=1 p50     p99   c=16 p50     p99   (ms)`);
  for (const name of names) console.log(`${name.padEnd(58)} ${row(name, 1)}  ${row(name, 16)}`);
  console.log('\nadded by the proxy over the direct ModelInfer (p50 / p99 difference, ms):');
  for (const name of [grpcName, httpName, nestedName].filter((n) => n in paths)) {
    const parts = CONCURRENCY.map((c) => {
      const a = results[name]?.[c];
      const d = results[directName]?.[c];
      return a === undefined || d === undefined ? '' : `c=${c}: ${fmt(a.p50 - d.p50)} / ${fmt(a.p99 - d.p99)}`;
    });
    console.log(`  ${name.padEnd(56)} ${parts.join('   ')}`);
  }
  const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
  console.log('\nwhere it goes (c=1 p50, ms):');
  console.log(`  decode + resize + normalise (sharp, in-process)          ${fmt(percentile(decodeTimes, 50))}`);
  console.log(`  encode ModelInferRequest, single copy (ours)             ${fmt(percentile(encodeTimes, 50))}   generated encoder: ${fmt(percentile(generatedEncodeTimes, 50))}`);
  console.log(`  grid → base64 (600 KB)                                   ${fmt(percentile(base64Times, 50))}`);
  console.log(`  gateway hop (gateway path − direct)                      ${fmt((results[gatewayName]?.[1]?.p50 ?? NaN) - (results[directName]?.[1]?.p50 ?? NaN))}`);
  console.log(`  backend (direct ModelInfer)                              ${fmt(results[directName]?.[1]?.p50 ?? NaN)}`);
  for (const [protocol, timings, name] of [['gRPC', grpcTimings, grpcName], ['HTTP', proxyTimings, httpName]] as const) {
    for (const c of CONCURRENCY) {
      const t = timings.get(c) ?? [];
      if (t.length === 0) continue;
      const inside = median(t.map((x) => x.preprocessMs + x.backendMs + x.postprocessMs));
      // what the path's p50 spends outside the proxy's timed stages: request and answer handling, transport, client
      const outside = (results[name]?.[c]?.p50 ?? NaN) - inside;
      console.log(
        `  proxy-reported, ${protocol} c=${String(c).padEnd(2)} (median): preprocess ${fmt(median(t.map((x) => x.preprocessMs)))}, backend call ${fmt(median(t.map((x) => x.backendMs)))}, postprocess ${fmt(median(t.map((x) => x.postprocessMs)))}; outside them ${fmt(outside)}`,
      );
    }
  }

  const out = join(ROOT, 'tools', 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `model-proxy-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ model: MODEL, requests: REQUESTS, rounds: ROUNDS, results, proxyTimings: Object.fromEntries(proxyTimings), grpcTimings: Object.fromEntries(grpcTimings), stages: { decodeP50: percentile(decodeTimes, 50), encodeP50: percentile(encodeTimes, 50), generatedEncodeP50: percentile(generatedEncodeTimes, 50), base64P50: percentile(base64Times, 50) } }, null, 2));
  console.log(`\nresults: ${file}`);

  for (const c of [servingClient, gatewayClient, proxyClient]) c.close();
  agent.destroy();
  for (const s of [proxyService, gateway, serving]) s.child.kill('SIGTERM');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
