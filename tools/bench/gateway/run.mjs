#!/usr/bin/env node
// Gateway benchmark: the same h2load load through (a) the gateway, (b) nginx routing by model-id as
// the setup it replaces (map $http_model_id → upstream with keepalive, one worker) and (c) the
// backend directly, for small unary calls and 600 KB requests. Prints req/s, p50/p99 and the ratios.
// h2load counts HTTP 200 as success, so grpc-status is checked apart: the backend counts the calls it
// answered OK and every run must match h2load's count, and one grpc-js call per target must get OK.
//
//   node tools/bench/gateway/run.mjs [--rounds 3] [--small 8000] [--large 600] [--clients 4]   (0 skips a size)
//        [--warmup_runs 3]   (h2load runs per target and size before the measured rounds)
//        [--rate_fraction 0.7] [--rate_seconds 3]   (the equal-rate latency phase; 0 skips it)
//        [--small_streams 16] [--large_streams 4] [--gateway_args "--streams_per_connection 2"]
//
// Needs h2load (Debian nghttp2-client) and nginx (Debian nginx-light) and a built gateway
// (npm run build -w @bundlegate/gateway). Not a test: it prints, it does not assert speed.
import { Buffer } from 'node:buffer';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout } from 'node:timers';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { serviceNodeFlags } from '../node-flags.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}
const ROUNDS = Number(arg('rounds', 3));
const SIZES = [
  { name: 'small unary', file: 'small.bin', n: Number(arg('small', 8000)), streams: Number(arg('small_streams', 16)) },
  { name: '600 KB unary', file: 'large.bin', n: Number(arg('large', 600)), streams: Number(arg('large_streams', 4)) },
].filter((s) => s.n > 0); // --small 0 or --large 0 skips that size
const CLIENTS = Number(arg('clients', 4));
const WARMUP_RUNS = Number(arg('warmup_runs', 3));
// latency at an equal offered rate: this fraction of the lower of nginx's and the gateway's throughput
const RATE_FRACTION = Number(arg('rate_fraction', 0.7));
const RATE_SECONDS = Number(arg('rate_seconds', 3));
const GATEWAY_ARGS = (arg('gateway_args', '') ?? '').split(' ').filter(Boolean);
const PATH = '/inference.GRPCInferenceService/ModelInfer';
const MODEL = '6687ad3b04248f708c1e0c95';

for (const tool of ['h2load', 'nginx']) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
  } catch {
    console.error(`${tool} not found: apt-get install -y nghttp2-client nginx-light`);
    process.exit(1);
  }
}
const gatewayMain = join(root, 'apps/gateway/dist/main.js');
if (!existsSync(gatewayMain)) {
  console.error('apps/gateway/dist/main.js missing: npm run build -w @bundlegate/gateway');
  process.exit(1);
}

// ---- request bodies: gRPC-framed KServe ModelInferRequest, hand-encoded
function varint(n) {
  const out = [];
  while (n > 127) {
    out.push((n & 127) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}
const field = (no, bytes) => Buffer.concat([varint((no << 3) | 2), varint(bytes.length), bytes]);
function inferRequest(raw, shape) {
  const shapeBytes = Buffer.concat(shape.map(varint));
  const input = Buffer.concat([field(1, Buffer.from('input')), field(2, Buffer.from('FP32')), field(3, shapeBytes)]);
  const message = Buffer.concat([field(1, Buffer.from(MODEL)), field(5, input), field(7, raw)]);
  const prefix = Buffer.alloc(5);
  prefix.writeUInt32BE(message.length, 1);
  return Buffer.concat([prefix, message]);
}

const work = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
writeFileSync(join(work, 'small.bin'), inferRequest(Buffer.alloc(16 * 4, 1), [1, 16]));
writeFileSync(join(work, 'large.bin'), inferRequest(Buffer.alloc(224 * 224 * 3 * 4, 1), [1, 224, 224, 3]));

const children = [];
function cleanup() {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function freePort() {
  return new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

async function waitFor(check, what, ms = 15000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`${what} did not come up`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- the backend, with its OK counter
const backend = spawn(process.execPath, [join(here, 'backend.mjs')], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] });
children.push(backend);
let backendOut = '';
backend.stdout.setEncoding('utf8');
backend.stdout.on('data', (t) => (backendOut += t));
await waitFor(() => /PORT \d+/.test(backendOut), 'backend');
const backendPort = Number(/PORT (\d+)/.exec(backendOut)[1]);
async function backendOk() {
  const mark = backendOut.length;
  backend.stdin.write('count\n');
  await waitFor(() => /OK \d+\n/.test(backendOut.slice(mark)), 'backend count', 5000);
  return Number(/OK (\d+)\n/.exec(backendOut.slice(mark))[1]);
}

// ---- the gateway: one process, defaults unless --gateway_args says otherwise
const [gwPort, gwRest, nginxPort] = await Promise.all([freePort(), freePort(), freePort()]);
const nodeFlags = serviceNodeFlags(root, 'gateway');
const gateway = spawn(
  process.execPath,
  [...nodeFlags, gatewayMain, '--route', `${MODEL}=127.0.0.1:${backendPort}`, '--host', '127.0.0.1', '--port', String(gwPort), '--rest_port', String(gwRest), '--log_level', 'warn', ...GATEWAY_ARGS],
  { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] },
);
children.push(gateway);
await waitFor(async () => (await globalThis.fetch(`http://127.0.0.1:${gwRest}/readyz`)).status === 200, 'gateway');

// ---- nginx as the router it replaces: one worker, map $http_model_id → upstream with keepalive
mkdirSync(join(work, 'nginx'), { recursive: true });
writeFileSync(
  join(work, 'nginx.conf'),
  `worker_processes 1;
daemon off;
pid ${work}/nginx/nginx.pid;
error_log ${work}/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${work}/nginx/body;
  proxy_temp_path ${work}/nginx/proxy;
  fastcgi_temp_path ${work}/nginx/fastcgi;
  uwsgi_temp_path ${work}/nginx/uwsgi;
  scgi_temp_path ${work}/nginx/scgi;
  client_max_body_size 0;
  # keeps a 600 KB body in memory rather than a temp file: the favourable setting for nginx
  client_body_buffer_size 1m;
  keepalive_requests 1000000;
  map $http_model_id $model_upstream { default unknown_model; ${MODEL} s${MODEL}s; }
  upstream s${MODEL}s { server 127.0.0.1:${backendPort}; keepalive 64; keepalive_requests 1000000; keepalive_timeout 600s; }
  upstream unknown_model { server 127.0.0.1:9; }
  server {
    listen 127.0.0.1:${nginxPort} http2;
    location /health { return 200 "ok"; }
    location / { grpc_pass grpc://$model_upstream; grpc_read_timeout 3600s; grpc_send_timeout 3600s; }
  }
}
`,
);
const nginx = spawn('nginx', ['-c', join(work, 'nginx.conf'), '-p', join(work, 'nginx')], { stdio: ['ignore', 'inherit', 'inherit'] });
children.push(nginx);
await waitFor(
  () =>
    new Promise((res) => {
      const s = createServer();
      s.once('error', () => res(true));
      s.listen(nginxPort, '127.0.0.1', () => s.close(() => res(false)));
    }),
  'nginx',
);

const targets = [
  { name: 'direct', port: backendPort },
  { name: 'nginx', port: nginxPort },
  { name: 'gateway', port: gwPort },
];

// ---- grpc-status, checked by a real gRPC client through each target
async function grpcCheck(port, modelId) {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': -1 });
  const md = new grpc.Metadata();
  md.set('model-id', modelId);
  const body = readFileSync(join(work, 'large.bin')).subarray(5);
  try {
    return await new Promise((res) => {
      client.makeUnaryRequest(PATH, (b) => b, (b) => b, body, md, (err, response) =>
        res(err ? { code: err.code, gatewayError: err.metadata?.get('x-gateway-error')[0] } : { code: 0, bytes: response.length }),
      );
    });
  } finally {
    client.close();
  }
}
for (const t of targets) {
  const r = await grpcCheck(t.port, MODEL);
  if (r.code !== 0 || r.bytes !== 64) throw new Error(`${t.name}: grpc-status check failed: ${JSON.stringify(r)}`);
}
const unknown = await grpcCheck(gwPort, 'no-such-model');
console.log(`grpc-status through each target: OK; gateway on an unknown model id: code ${unknown.code} (${unknown.gatewayError})`);

// ---- h2load runs
function h2load(port, size, n, logFile, rpsPerClient) {
  const args = ['-n', String(n), '-c', String(CLIENTS), '-m', String(size.streams), '-t', '1'];
  if (rpsPerClient !== undefined) args.push(`--rps=${rpsPerClient}`);
  args.push('-H', 'content-type: application/grpc', '-H', 'te: trailers', '-H', `model-id: ${MODEL}`);
  args.push('-d', join(work, size.file));
  if (logFile) args.push(`--log-file=${logFile}`);
  args.push(`http://127.0.0.1:${port}${PATH}`);
  const out = execFileSync('h2load', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const rps = Number(/finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out)?.[1]);
  const succeeded = Number(/(\d+) succeeded/.exec(out)?.[1]);
  return { rps, succeeded, out };
}

// CPU seconds (user + system) a process used so far, from /proc; undefined where there is no /proc
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
function nginxWorkerPid() {
  try {
    return Number(execFileSync('pgrep', ['-P', String(nginx.pid)], { encoding: 'utf8' }).trim().split('\n')[0]);
  } catch {
    return undefined;
  }
}
const proxyPid = { direct: undefined, nginx: nginxWorkerPid(), gateway: gateway.pid };

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** p50 and p99 in milliseconds of latencies in microseconds (sorted in place). */
function latencyMs(latUs) {
  const sorted = latUs.sort((a, b) => a - b);
  return { p50ms: percentile(sorted, 50) / 1000, p99ms: percentile(sorted, 99) / 1000 };
}

/** ROUNDS h2load runs of `n` calls per target, targets taking turns; `rpsPerClient` paces them. */
async function measure(size, n, rpsPerClient) {
  const per = Object.fromEntries(targets.map((t) => [t.name, { rps: [], latUs: [], ok: true, proxyCpu: 0, backendCpu: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    // targets take turns within a round so a load change on the machine hits all three alike
    for (const t of targets) {
      const log = join(work, `${t.name}.log`);
      rmSync(log, { force: true });
      const before = await backendOk();
      const cpu0 = [cpuSeconds(proxyPid[t.name]), cpuSeconds(backend.pid)];
      const r = h2load(t.port, size, n, log, rpsPerClient);
      const cpu1 = [cpuSeconds(proxyPid[t.name]), cpuSeconds(backend.pid)];
      per[t.name].proxyCpu += (cpu1[0] ?? 0) - (cpu0[0] ?? 0);
      per[t.name].backendCpu += (cpu1[1] ?? 0) - (cpu0[1] ?? 0);
      const answered = (await backendOk()) - before;
      if (r.succeeded !== n || answered !== n) {
        per[t.name].ok = false;
        console.error(`${size.name} ${t.name}: h2load succeeded ${r.succeeded}, backend answered OK ${answered}, of ${n}\n${r.out}`);
      }
      per[t.name].rps.push(r.rps);
      for (const line of readFileSync(log, 'utf8').split('\n')) {
        const us = Number(line.split('\t')[2]);
        if (Number.isFinite(us) && line) per[t.name].latUs.push(us);
      }
    }
  }
  return per;
}

const results = [];
const started = Date.now();
for (const size of SIZES) {
  // warm-up until the gateway's code is stable (nginx needs none, it gets the same): V8 optimizes the hot
  // path in the first calls, deoptimizes much of it when the first clients disconnect (paths not run
  // before), and re-optimizes it over the next connections; so several h2load runs, not one long one
  for (let i = 0; i < WARMUP_RUNS; i++) for (const t of targets) h2load(t.port, size, Math.max(CLIENTS * size.streams * 4, size.n));
  const per = await measure(size, size.n);
  // latency at one offered rate for all three: at full load each target runs at its own throughput,
  // and the faster one drives the backend harder (its GC pauses then land in more calls' latency)
  const median = (name) => [...per[name].rps].sort((a, b) => a - b)[Math.floor(per[name].rps.length / 2)];
  const rpsPerClient = Math.max(1, Math.floor((RATE_FRACTION * Math.min(median('nginx'), median('gateway'))) / CLIENTS));
  const atRate = RATE_FRACTION > 0 ? await measure(size, Math.max(CLIENTS, Math.round(rpsPerClient * CLIENTS * RATE_SECONDS)), rpsPerClient) : undefined;
  for (const t of targets) {
    const p = per[t.name];
    const q = atRate?.[t.name];
    results.push({
      size: size.name,
      target: t.name,
      rps: median(t.name),
      rounds: p.rps,
      ...latencyMs(p.latUs),
      grpcStatusVerified: p.ok,
      // CPU per call: the proxy's (none for direct) and the backend's, in microseconds
      proxyCpuUs: (p.proxyCpu / (size.n * ROUNDS)) * 1e6,
      backendCpuUs: (p.backendCpu / (size.n * ROUNDS)) * 1e6,
      ...(q === undefined
        ? {}
        : { rate: { offeredRps: rpsPerClient * CLIENTS, ...latencyMs(q.latUs), grpcStatusVerified: q.ok } }),
    });
  }
}

// ---- report
const f = (x, d = 2) => x.toFixed(d);
console.log(`\nh2load -c ${CLIENTS} -t 1, ${ROUNDS} rounds (median req/s; latency percentiles over all rounds); ${Math.round((Date.now() - started) / 1000)} s`);
console.log('size          target    req/s     p50 ms   p99 ms   grpc-status  proxy CPU/call  backend CPU/call');
for (const r of results) {
  const proxyCpu = r.target === 'direct' ? '-' : `${f(r.proxyCpuUs, 0)} us`;
  console.log(
    `${r.size.padEnd(13)} ${r.target.padEnd(8)} ${f(r.rps, 0).padStart(7)}  ${f(r.p50ms).padStart(8)} ${f(r.p99ms).padStart(8)}   ${(r.grpcStatusVerified ? 'all OK' : 'MISMATCH').padEnd(11)}  ${proxyCpu.padStart(14)}  ${`${f(r.backendCpuUs, 0)} us`.padStart(16)}`,
  );
}
console.log('');
for (const size of SIZES) {
  const get = (name) => results.find((r) => r.size === size.name && r.target === name);
  const g = get('gateway');
  const n = get('nginx');
  const d = get('direct');
  console.log(
    `${size.name}: gateway/nginx ${f(g.rps / n.rps)}x req/s, p99 ${f(g.p99ms)} vs ${f(n.p99ms)} ms (${f(g.p99ms / n.p99ms)}x); gateway/direct ${f(g.rps / d.rps)}x; nginx/direct ${f(n.rps / d.rps)}x`,
  );
  if (g.rate !== undefined && n.rate !== undefined && d.rate !== undefined) {
    const ok = g.rate.grpcStatusVerified && n.rate.grpcStatusVerified && d.rate.grpcStatusVerified ? 'all OK' : 'MISMATCH';
    console.log(
      `${size.name} at ${g.rate.offeredRps} req/s offered (${f(RATE_FRACTION * 100, 0)} % of the lower throughput), p50 / p99 ms: gateway ${f(g.rate.p50ms)} / ${f(g.rate.p99ms)}, nginx ${f(n.rate.p50ms)} / ${f(n.rate.p99ms)}, direct ${f(d.rate.p50ms)} / ${f(d.rate.p99ms)}; gateway/nginx p99 ${f(g.rate.p99ms / n.rate.p99ms)}x; grpc-status ${ok}`,
    );
  }
}
const outDir = join(root, 'tools/bench/results');
mkdirSync(outDir, { recursive: true });
const outFile = join(outDir, `gateway-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(outFile, JSON.stringify({ clients: CLIENTS, rounds: ROUNDS, gatewayArgs: GATEWAY_ARGS, results }, null, 2));
console.log(`\nresults: ${outFile}`);
cleanup();
rmSync(work, { recursive: true, force: true });
process.exit(0);
