// onnx-serving benchmark: the same model, the same input, in the same run, through (a) KServe ModelInfer over gRPC to
// an onnx-serving process and (b) onnxruntime-node's InferenceSession.run in this process, at concurrency 1 and 8.
// Prints req/s and p50/p99 for each, and the ratios (gRPC / in-process) and the p50 added by the server.
// `--compare` also runs the server with the other session layouts (forced worker or inline executors, more threads) to
// show why the default is what it is. Run through run.mjs (it bundles this file); not a test: it prints, it does not assert speed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import { kserve } from '@bundlegate/protos';
import { fromModelInferResponse, toModelInferRequest } from '@bundlegate/tensors';

const ROOT = process.env['BENCH_ROOT'] as string;
const MODELS_DIR = join(ROOT, 'deploy', 'demo', 'bucket', 'models');
const MIB = 1024 * 1024;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
const SECONDS = Number(arg('seconds') ?? 5);
const COMPARE = process.argv.includes('--compare');
const CONCURRENCY = [1, 8];

interface BenchModel {
  readonly label: string;
  readonly id: string;
  readonly input: string;
  readonly shape: readonly number[];
  /** 0..1 for the anomaly model (NCHW floats), 0..255 for the classifier (NHWC pixels). */
  readonly scale: number;
}

const MODELS: readonly BenchModel[] = [
  { label: 'classifier 64×64', id: '6684168e04248f708c1e0c93', input: 'image_input', shape: [1, 64, 64, 3], scale: 255 },
  { label: 'anomaly 224×224', id: '6687ad3b04248f708c1e0c95', input: 'input', shape: [1, 3, 224, 224], scale: 1 },
];

function pixels(model: BenchModel): Float32Array {
  const n = model.shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    data[i] = ((s >>> 16) % 256) / 255 * model.scale;
  }
  return data;
}

// ---- measurement

interface Result {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

/** Latencies (ms) and busy time (s) gathered over several slices. */
class Samples {
  readonly latencies: number[] = [];
  seconds = 0;

  result(): Result {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
    return { rps: sorted.length / this.seconds, p50: at(0.5), p99: at(0.99) };
  }
}

/** `concurrency` loops calling `once` back to back for `ms`, adding to `into`. */
async function slice(concurrency: number, ms: number, once: () => Promise<unknown>, into?: Samples): Promise<void> {
  const start = performance.now();
  const until = start + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t0 = performance.now();
        await once();
        into?.latencies.push(performance.now() - t0);
      }
    }),
  );
  if (into) into.seconds += (performance.now() - start) / 1000;
}

const SLICE_MS = 500;

/**
 * Both paths measured in alternating half-second slices for `seconds` each, so that whatever else the machine is
 * doing weighs on both alike; the ratio is then meaningful even where absolute figures wander.
 */
async function measurePair(concurrency: number, seconds: number, a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<[Result, Result]> {
  await slice(concurrency, SLICE_MS, a);
  await slice(concurrency, SLICE_MS, b);
  const sa = new Samples();
  const sb = new Samples();
  for (let i = 0; i < Math.max(1, Math.round((seconds * 1000) / SLICE_MS)); i++) {
    await slice(concurrency, SLICE_MS, a, sa);
    await slice(concurrency, SLICE_MS, b, sb);
  }
  return [sa.result(), sb.result()];
}

// ---- the server process

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Server {
  readonly child: ChildProcess;
  readonly address: string;
  stop(): Promise<void>;
}

async function startServer(pluginConfig: Record<string, unknown> | undefined): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-onnx-serving-'));
  const config = {
    model_config_list: MODELS.map((m) => ({ config: { name: m.id, base_path: join(MODELS_DIR, m.id), ...(pluginConfig ? { plugin_config: pluginConfig } : {}) } })),
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const [port, restPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [join(ROOT, 'apps/onnx-serving/dist/main.js'), '--config_path', join(dir, 'config.json'), '--port', String(port), '--rest_port', String(restPort)]
      .concat(['--grpc_bind_address', '127.0.0.1', '--rest_bind_address', '127.0.0.1', '--log_level', 'error', '--file_system_poll_wait_seconds', '0']),
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const address = `127.0.0.1:${port}`;
  const client = new kserve.GRPCInferenceServiceClient(address, credentials.createInsecure());
  const until = Date.now() + 30_000;
  for (;;) {
    const ready = await new Promise<boolean>((resolve) => client.serverReady({}, (err, res) => resolve(!err && res.ready)));
    if (ready) break;
    if (Date.now() > until || child.exitCode !== null) throw new Error('onnx-serving did not become ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  client.close();
  return {
    child,
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => {
          rmSync(dir, { recursive: true, force: true });
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

const identity = (b: Buffer): Buffer => b;
const CLIENT_WINDOW = Number(arg('client_window') ?? 8 * MIB);
const METHOD = '/inference.GRPCInferenceService/ModelInfer';

/** ModelInfer with the request encoded once: the client's own encoding cost stays out of the figures. */
function grpcCaller(address: string, request: Buffer): { call(): Promise<Buffer>; close(): void } {
  // the client's receive window matters for 600 KB answers as the server's does for requests (grpc-js default 64 KiB)
  const client = new Client(address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 100 * MIB,
    'grpc.max_send_message_length': 100 * MIB,
    'grpc-node.flow_control_window': CLIENT_WINDOW,
  });
  return {
    call: () =>
      new Promise<Buffer>((resolve, reject) => {
        client.makeUnaryRequest(METHOD, identity, identity, request, new Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res as Buffer)));
      }),
    close: () => client.close(),
  };
}

// ---- reporting

const f = (n: number, digits = 2): string => n.toFixed(digits);

interface Row {
  readonly model: string;
  readonly concurrency: number;
  readonly inProcess: Result;
  readonly grpc: Result;
}

function printRows(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  console.log('| model | conc | in-process req/s | p50 ms | p99 ms | gRPC req/s | p50 ms | p99 ms | req/s ratio | p50 added ms | p99 ratio |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(
      `| ${r.model} | ${r.concurrency} | ${f(r.inProcess.rps, 0)} | ${f(r.inProcess.p50, 3)} | ${f(r.inProcess.p99, 3)} | ${f(r.grpc.rps, 0)} | ${f(r.grpc.p50, 3)} | ${f(r.grpc.p99, 3)} | ${f(r.grpc.rps / r.inProcess.rps)}× | ${f(r.grpc.p50 - r.inProcess.p50, 3)} | ${f(r.grpc.p99 / r.inProcess.p99)}× |`,
    );
  }
}

/** The targets, against the default layout: printed, not asserted. */
function printTargets(rows: readonly Row[]): void {
  const anomaly = rows.filter((r) => r.model.startsWith('anomaly'));
  const classifier = rows.find((r) => r.model.startsWith('classifier') && r.concurrency === 1);
  console.log('');
  for (const r of anomaly) console.log(`target anomaly throughput ≥ 0.9× in-process, concurrency ${r.concurrency}: ${f(r.grpc.rps / r.inProcess.rps)}×`);
  if (classifier) console.log(`target classifier added p50 < 0.3 ms, concurrency 1: ${f(classifier.grpc.p50 - classifier.inProcess.p50, 3)} ms`);
}

// ---- the run

interface Variant {
  readonly name: string;
  readonly pluginConfig: Record<string, unknown> | undefined;
}

const VARIANTS: readonly Variant[] = [
  { name: 'default (auto executor: one session per core, 1 intra-op thread each, on workers unless the model is tiny)', pluginConfig: undefined },
  { name: 'worker executor forced, one session per core, 1 intra-op thread each', pluginConfig: { executor: 'worker' } },
  { name: 'one session, intra-op threads = cores (PERFORMANCE_HINT LATENCY)', pluginConfig: { PERFORMANCE_HINT: 'LATENCY' } },
  { name: 'worker executor, one session per core, intra-op threads = cores each, no spinning', pluginConfig: { executor: 'worker', intra_op_num_threads: availableParallelism() } },
  { name: 'inline executor forced: one session on the event loop, intra-op threads = cores', pluginConfig: { executor: 'inline', intra_op_num_threads: availableParallelism() } },
];

async function runVariant(variant: Variant, sessions: Map<string, ort.InferenceSession>, seconds: number): Promise<Row[]> {
  const server = await startServer(variant.pluginConfig);
  const rows: Row[] = [];
  try {
    for (const model of MODELS) {
      const data = pixels(model);
      const session = sessions.get(model.id) as ort.InferenceSession;
      const feeds = { [model.input]: new ort.Tensor('float32', data, [...model.shape]) };
      const request = Buffer.from(
        kserve.ModelInferRequest.encode(toModelInferRequest({ modelName: model.id, inputs: [{ name: model.input, datatype: 'FP32', shape: model.shape, data }] })).finish(),
      );
      const caller = grpcCaller(server.address, request);
      // the two paths must agree before their speeds are compared
      const served = fromModelInferResponse(kserve.ModelInferResponse.decode(await caller.call()));
      const local = await session.run(feeds);
      for (const out of served) {
        const mine = local[out.name as string] as ort.Tensor;
        const same = mine.type === 'string' ? Buffer.from((out.data as Uint8Array[])[0] as Uint8Array).toString() === mine.data[0] : Buffer.from((out.data as Float32Array).buffer, (out.data as Float32Array).byteOffset, (out.data as Float32Array).byteLength).equals(Buffer.from((mine.data as Float32Array).buffer, (mine.data as Float32Array).byteOffset, (mine.data as Float32Array).byteLength));
        if (!same) throw new Error(`${model.label}: output ${out.name} differs between onnx-serving and in-process onnxruntime`);
      }
      for (const concurrency of CONCURRENCY) {
        const [inProcess, grpc] = await measurePair(concurrency, seconds, () => session.run(feeds), () => caller.call());
        rows.push({ model: model.label, concurrency, inProcess, grpc });
      }
      caller.close();
    }
  } finally {
    await server.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  const seconds = COMPARE ? Math.min(SECONDS, 2) : SECONDS;
  console.log(`onnx-serving vs in-process onnxruntime-node ${ort.env.versions.common}: ${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}, ${seconds} s per path per cell`);
  console.log('in-process: InferenceSession.run with default session options, called from `conc` concurrent loops in this process');
  console.log(`gRPC: KServe ModelInfer (raw FP32 contents, request pre-encoded) to an onnx-serving process, one channel, client window ${CLIENT_WINDOW} B`);
  console.log(`the two are measured in alternating ${SLICE_MS} ms slices; load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const sessions = new Map<string, ort.InferenceSession>();
  for (const m of MODELS) sessions.set(m.id, await ort.InferenceSession.create(join(MODELS_DIR, m.id, '1', 'model.onnx')));
  const started = performance.now();
  for (const [i, variant] of (COMPARE ? VARIANTS : VARIANTS.slice(0, 1)).entries()) {
    const rows = await runVariant(variant, sessions, seconds);
    printRows(`server: ${variant.name}`, rows);
    if (i === 0) printTargets(rows);
  }
  console.log(`\n(${f((performance.now() - started) / 1000, 0)} s)`);
  for (const s of sessions.values()) await s.release();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
