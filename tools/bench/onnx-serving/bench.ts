// onnx-serving benchmark: the same model, the same input, in the same run, through (a) KServe ModelInfer over gRPC to
// an onnx-serving process and (b) onnxruntime-node's InferenceSession.run in this process, at concurrency 1 and 8.
// Prints req/s and p50/p99 for each, and the ratios (gRPC / in-process) and the p50 added by the server, beside a
// transport floor (a bare grpc-js server moving the same bytes) and CPU time per request, which a busy machine
// distorts less than wall time.
// `--compare` also runs the server with the other session layouts (forced worker or inline executors, more threads) to
// show why the default is what it is. Run through run.mjs (it bundles this file); not a test: it prints, it does not assert speed.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import * as ort from 'onnxruntime-node';
import { kserve } from '@bundlegate/protos';
import { fromModelInferResponse, toModelInferRequest } from '@bundlegate/tensors';
import { serviceNodeFlags } from '../node-flags.mjs';

const ROOT = process.env['BENCH_ROOT'] as string;
const __dirname_ = join(ROOT, 'tools', 'bench', 'onnx-serving');
const MODELS_DIR = join(ROOT, 'deploy', 'demo', 'bucket', 'models');
const MIB = 1024 * 1024;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}
/** Seconds each path is measured per cell: 5, or 1.5 with --compare (five layouts must fit in two minutes). */
const SECONDS = Number(arg('seconds') ?? (process.argv.includes('--compare') ? 1.5 : 5));
const COMPARE = process.argv.includes('--compare');
/** `--models anomaly` (or `classifier`) limits the run to models whose label starts with that word. */
const ONLY = arg('models');
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
  /** CPU time per request (ms) of this process (the caller) and of the server process, if any. */
  readonly cpuMs: number;
  readonly serverCpuMs: number;
}

/** Latencies (ms) and busy time (s) gathered over several slices. */
class Samples {
  readonly latencies: number[] = [];
  seconds = 0;
  cpuMs = 0;
  serverCpuMs = 0;

  result(): Result {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
    const n = sorted.length;
    return { rps: n / this.seconds, p50: at(0.5), p99: at(0.99), cpuMs: this.cpuMs / n, serverCpuMs: this.serverCpuMs / n };
  }
}

/** User + system CPU (ms) of this process, and of another one when given (all threads, from /proc). */
function cpuNow(otherPid?: number): [number, number] {
  const own = process.cpuUsage();
  let other = 0;
  if (otherPid !== undefined) {
    // fields 14 and 15 after the parenthesised command: utime and stime in clock ticks (100 per second)
    const stat = readFileSync(`/proc/${otherPid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    other = (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return [(own.user + own.system) / 1000, other];
}



/** `concurrency` loops calling `once` back to back for `ms`, adding to `into`. */
async function slice(concurrency: number, ms: number, once: () => Promise<unknown>, into?: Samples, pid?: number): Promise<void> {
  const cpu = cpuNow(pid);
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
  if (into) {
    into.seconds += (performance.now() - start) / 1000;
    const [own, other] = cpuNow(pid);
    into.cpuMs += own - cpu[0];
    into.serverCpuMs += other - cpu[1];
  }
}

const SLICE_MS = 500;

/**
 * Both paths measured in alternating half-second slices for `seconds` each, so that whatever else the machine is
 * doing weighs on both alike; the ratio is then meaningful even where absolute figures wander.
 */
async function measureAll(concurrency: number, seconds: number, paths: readonly { run: () => Promise<unknown>; pid?: number }[]): Promise<Result[]> {
  for (const p of paths) await slice(concurrency, SLICE_MS, p.run);
  const samples = paths.map(() => new Samples());
  for (let i = 0; i < Math.max(1, Math.round((seconds * 1000) / SLICE_MS)); i++) {
    for (const [j, p] of paths.entries()) await slice(concurrency, SLICE_MS, p.run, samples[j], p.pid);
  }
  return samples.map((s) => s.result());
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
  readonly pid: number;
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
    [...serviceNodeFlags(ROOT, 'onnx-serving'), join(ROOT, 'apps/onnx-serving/dist/main.js'), '--config_path', join(dir, 'config.json'), '--port', String(port), '--rest_port', String(restPort)]
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
    pid: child.pid as number,
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

/** The bare grpc-js server of floor-server.cjs, answering with zeros: the transport's own cost. */
async function startFloor(): Promise<{ pid: number; address: string; stop(): void }> {
  const child = spawn(process.execPath, [join(__dirname_, 'floor-server.cjs')], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_PATH: join(ROOT, 'node_modules') } });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (b: Buffer) => resolve(Number(b.toString().trim())));
    child.once('exit', (code) => reject(new Error(`floor server exited with ${code}`)));
  });
  return { pid: child.pid as number, address: `127.0.0.1:${port}`, stop: () => void child.kill('SIGTERM') };
}

const identity = (b: Buffer): Buffer => b;
const CLIENT_WINDOW = Number(arg('client_window') ?? 8 * MIB);
const METHOD = '/inference.GRPCInferenceService/ModelInfer';

/** ModelInfer (or `method`) with the request encoded once: the client's own encoding cost stays out of the figures. */
function grpcCaller(address: string, request: Buffer, method = METHOD, metadata = new Metadata()): { call(): Promise<Buffer>; close(): void } {
  // the client's receive window matters for 600 KB answers as the server's does for requests (grpc-js default 64 KiB)
  const client = new Client(address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 100 * MIB,
    'grpc.max_send_message_length': 100 * MIB,
    'grpc-node.flow_control_window': CLIENT_WINDOW,
  });
  return {
    call: () =>
      new Promise<Buffer>((resolve, reject) => {
        client.makeUnaryRequest(method, identity, identity, request, metadata, {}, (err, res) => (err ? reject(err) : resolve(res as Buffer)));
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
  /** A bare grpc-js server moving the same bytes: what gRPC costs before onnx-serving does anything. */
  readonly floor: Result | undefined;
}

function printRows(title: string, rows: readonly Row[]): void {
  console.log(`\n${title}`);
  console.log('| model | conc | in-process req/s | p50 ms | p99 ms | CPU ms/req | gRPC req/s | p50 ms | p99 ms | CPU ms/req client + server | req/s ratio | p50 added ms | p99 ratio | floor p50 ms | floor CPU ms/req client + server |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const a = r.inProcess;
    const b = r.grpc;
    console.log(
      `| ${r.model} | ${r.concurrency} | ${f(a.rps, 0)} | ${f(a.p50, 3)} | ${f(a.p99, 3)} | ${f(a.cpuMs, 3)} | ${f(b.rps, 0)} | ${f(b.p50, 3)} | ${f(b.p99, 3)} | ${f(b.cpuMs, 2)} + ${f(b.serverCpuMs, 2)} | ${f(b.rps / a.rps)}× | ${f(b.p50 - a.p50, 3)} | ${f(b.p99 / a.p99)}× | ${r.floor ? f(r.floor.p50, 3) : '–'} | ${r.floor ? `${f(r.floor.cpuMs, 2)} + ${f(r.floor.serverCpuMs, 2)}` : '–'} |`,
    );
  }
}

/** The issue's targets, against the default layout: printed, not asserted. */
function printTargets(rows: readonly Row[]): void {
  const anomaly = rows.filter((r) => r.model.startsWith('anomaly'));
  const classifier = rows.find((r) => r.model.startsWith('classifier') && r.concurrency === 1);
  console.log('');
  for (const r of anomaly) console.log(`target anomaly throughput ≥ 0.9× in-process, concurrency ${r.concurrency}: ${f(r.grpc.rps / r.inProcess.rps)}×`);
  if (classifier) {
    console.log(`target classifier added p50 < 0.3 ms, concurrency 1: ${f(classifier.grpc.p50 - classifier.inProcess.p50, 3)} ms`);
    if (classifier.floor) {
      const own = classifier.grpc.p50 - classifier.floor.p50 - classifier.inProcess.p50;
      console.log(`  of which the bare gRPC transport (floor): ${f(classifier.floor.p50, 3)} ms; onnx-serving's own: ${f(own, 3)} ms`);
    }
  }
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

async function runVariant(variant: Variant, sessions: Map<string, ort.InferenceSession>, seconds: number, withFloor: boolean): Promise<Row[]> {
  const server = await startServer(variant.pluginConfig);
  const floorServer = await startFloor();
  const rows: Row[] = [];
  try {
    for (const model of MODELS.filter((m) => ONLY === undefined || m.label.startsWith(ONLY))) {
      const data = pixels(model);
      const session = sessions.get(model.id) as ort.InferenceSession;
      const feeds = { [model.input]: new ort.Tensor('float32', data, [...model.shape]) };
      const request = Buffer.from(
        kserve.ModelInferRequest.encode(toModelInferRequest({ modelName: model.id, inputs: [{ name: model.input, datatype: 'FP32', shape: model.shape, data }] })).finish(),
      );
      const caller = grpcCaller(server.address, request);
      const responseSize = (await caller.call()).byteLength;
      const floorMetadata = new Metadata();
      floorMetadata.set('x-response-size', String(responseSize));
      const floor = grpcCaller(floorServer.address, request, '/bench.Floor/Call', floorMetadata);
      // the two paths must agree before their speeds are compared
      const served = fromModelInferResponse(kserve.ModelInferResponse.decode(await caller.call()));
      const local = await session.run(feeds);
      for (const out of served) {
        const mine = local[out.name as string] as ort.Tensor;
        const same = mine.type === 'string' ? Buffer.from((out.data as Uint8Array[])[0] as Uint8Array).toString() === mine.data[0] : Buffer.from((out.data as Float32Array).buffer, (out.data as Float32Array).byteOffset, (out.data as Float32Array).byteLength).equals(Buffer.from((mine.data as Float32Array).buffer, (mine.data as Float32Array).byteOffset, (mine.data as Float32Array).byteLength));
        if (!same) throw new Error(`${model.label}: output ${out.name} differs between onnx-serving and in-process onnxruntime`);
      }
      for (const concurrency of CONCURRENCY) {
        const [inProcess, grpc, floorResult] = (await measureAll(concurrency, seconds, [
          { run: () => session.run(feeds) },
          { run: () => caller.call(), pid: server.pid },
          // the floor does not depend on the server's layout: measured with the first one only
          ...(withFloor ? [{ run: () => floor.call(), pid: floorServer.pid }] : []),
        ])) as [Result, Result, Result | undefined];
        rows.push({ model: model.label, concurrency, inProcess, grpc, floor: floorResult });
      }
      caller.close();
      floor.close();
    }
  } finally {
    floorServer.stop();
    await server.stop();
  }
  return rows;
}

async function main(): Promise<void> {
  const cores = availableParallelism();
  const seconds = SECONDS;
  console.log(`onnx-serving vs in-process onnxruntime-node ${ort.env.versions.common}: ${cores} cores (${cpus()[0]?.model ?? 'unknown CPU'}), node ${process.version}, ${seconds} s per path per cell`);
  console.log('in-process: InferenceSession.run with default session options, called from `conc` concurrent loops in this process');
  console.log(`gRPC: KServe ModelInfer (raw FP32 contents, request pre-encoded) to an onnx-serving process, one channel, client window ${CLIENT_WINDOW} B`);
  console.log(`the two are measured in alternating ${SLICE_MS} ms slices; load average at start: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('CPU ms/req: user+system time per request of this process (in-process; the gRPC client) and of the server process');
  console.log('floor: a bare grpc-js server in its own process answering the same request with as many zero bytes as onnx-serving answers');
  const sessions = new Map<string, ort.InferenceSession>();
  for (const m of MODELS) sessions.set(m.id, await ort.InferenceSession.create(join(MODELS_DIR, m.id, '1', 'model.onnx')));
  const started = performance.now();
  for (const [i, variant] of (COMPARE ? VARIANTS : VARIANTS.slice(0, 1)).entries()) {
    const rows = await runVariant(variant, sessions, seconds, i === 0);
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
