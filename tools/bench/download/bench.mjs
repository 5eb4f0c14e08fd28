// Download benchmark: model-download vs `rclone copy --checksum` (Debian rclone) from the same s3rver,
// same concurrency, same run. Cold sync of a ~1 GB model tree (a few large files, many small ones), then
// a no-op re-sync; wall time, ratio and peak RSS of each. The tree is generated into s3rver's temporary
// directory and deleted afterwards.
//
//   node tools/bench/download/bench.mjs [--concurrency 8] [--size-mb 1024] [--rounds 1] [--md-args "--range-size 32MiB"]
//        [--tree mixed|large|small]   (mixed: the default model zoo; large: 4 equal files; small: 16 KiB – 1 MiB files only)
//
// Needs rclone (apt-get install -y rclone) and the built app (npx nx build @bundlegate/model-download).
// BENCH_MD_CLI=<path to another build's main.js> runs that build instead (to compare two builds in turn).
/* global setTimeout, clearTimeout, Buffer */
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { serviceEnv, serviceNodeFlags } from '../node-flags.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..', '..');
const cli = process.env.BENCH_MD_CLI ?? join(repo, 'apps', 'model-download', 'dist', 'main.js');
const { values: args } = parseArgs({
  options: {
    concurrency: { type: 'string', default: '8' },
    'size-mb': { type: 'string', default: '1024' },
    tree: { type: 'string', default: 'mixed' },
    rounds: { type: 'string', default: '1' },
    // extra model-download flags, for tuning (e.g. "--range-threshold 256MiB")
    'md-args': { type: 'string', default: '' },
    // run only model-download (no rclone) with several flag sets separated by ";"
    'md-only': { type: 'boolean', default: false },
  },
});
const concurrency = Number(args.concurrency);
const totalMb = Number(args['size-mb']);
const rounds = Number(args.rounds);
const MB = 1024 * 1024;

function need(cmd, hint) {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
  } catch {
    console.error(`${cmd} not found: ${hint}`);
    process.exit(1);
  }
}
need('rclone', 'apt-get update && apt-get install -y rclone');
need('/usr/bin/time', 'apt-get install -y time');
if (!existsSync(cli)) {
  console.error(`${cli} missing: run npx nx build @bundlegate/model-download`);
  process.exit(1);
}

/**
 * mixed: ~60% of the bytes in 3 large files, the rest in small files of 16 KiB – 1 MiB (a model zoo:
 * weights plus many shards/assets). large: 4 files of equal size. small: only the small files.
 */
function makeTree(total, shape) {
  if (shape === 'large') return [0, 1, 2, 3].map((i) => ({ key: `1/weights-${i}.bin`, size: Math.floor(total / 4) }));
  if (shape !== 'mixed' && shape !== 'small') throw new Error(`--tree: mixed, large or small, not ${shape}`);
  const files = [];
  const large = shape === 'mixed' ? Math.floor(total * 0.6) : 0;
  if (large > 0) for (const [name, share] of [['1/model.bin', 0.5], ['1/encoder.onnx', 0.3], ['2/model.bin', 0.2]]) files.push({ key: name, size: Math.floor(large * share) });
  let left = total - large;
  let i = 0;
  let seed = 12345;
  while (left > 0) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const size = Math.min(left, 16 * 1024 + (seed % (1008 * 1024)));
    files.push({ key: `1/shards/shard-${String(i).padStart(5, '0')}.bin`, size });
    left -= size;
    i++;
  }
  return files;
}

/** Random bytes streamed in 1 MiB chunks (never the whole file in memory), hashed on the way for the final check. */
function randomStream(size, hash) {
  let left = size;
  return new Readable({
    read() {
      if (left === 0) return this.push(null);
      const n = Math.min(MB, left);
      const buf = randomFillSync(Buffer.allocUnsafe(n));
      hash.update(buf);
      left -= n;
      this.push(buf);
    },
  });
}

function startS3rver(directory) {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [join(repo, 'tools', 'emulators', 'src', 's3rver-child.cjs')], {
      env: { ...process.env, NODE_OPTIONS: '--openssl-legacy-provider', S3RVER_DIRECTORY: directory, S3RVER_BUCKETS: '' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const m = /BG_EMULATOR_PORT=(\d+)/.exec(out);
      if (m) ok({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => fail(new Error(`s3rver exited ${code}`)));
  });
}

/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
function processCpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The s3rver process, whose CPU share during each run is reported with it. */
let serverPid;

/** Runs a command under GNU time: wall seconds, peak RSS (MiB), its CPU and the server's. */
function measure(cmd, argv, env) {
  return new Promise((ok, fail) => {
    const started = process.hrtime.bigint();
    const serverCpu = processCpuSeconds(serverPid);
    const child = spawn('/usr/bin/time', ['-f', 'BENCH_RSS_KB=%M BENCH_CPU=%U+%S', cmd, ...argv], { env, stdio: ['ignore', process.env.BENCH_STDOUT ? 'inherit' : 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.once('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const rss = /BENCH_RSS_KB=(\d+)/.exec(err);
      const cpu = /BENCH_CPU=([\d.]+)\+([\d.]+)/.exec(err);
      if (code !== 0) return fail(new Error(`${cmd} exited ${code}: ${err.slice(-2000)}`));
      ok({ seconds, rssMb: rss ? Number(rss[1]) / 1024 : NaN, cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : NaN, userSeconds: cpu ? Number(cpu[1]) : NaN, systemSeconds: cpu ? Number(cpu[2]) : NaN, serverCpuSeconds: processCpuSeconds(serverPid) - serverCpu });
    });
  });
}

/**
 * Frees a finished copy's data (its page cache and blocks) but keeps its files, which are deleted with the
 * whole work directory at the end. Deleting the copy between runs made the next run's file creation cost
 * grow with the number of files deleted in the last minutes: ext4 without a journal (this VM's root) skips
 * recently freed inodes one by one on every allocation. Creating 820 files took 69 ms on a quiet file
 * system and 560–850 ms after two or three such deletions, noise that had nothing to do with either tool.
 */
function emptyFiles(dir) {
  for (const e of entriesUnder(dir)) if (e.file) truncateSync(e.path, 0);
}

/** Every entry below `dir` but its directories: its path, its path relative to `dir` ("/"-separated), whether it is a plain file. */
function entriesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => !e.isDirectory())
    .map((e) => {
      const path = join(e.parentPath ?? e.path, e.name);
      return { path, rel: relative(dir, path).split(sep).join('/'), file: e.isFile() };
    });
}

function treeDigests(dir) {
  const out = {};
  for (const e of entriesUnder(dir)) out[e.rel] = createHash('md5').update(readFileSync(e.path)).digest('hex');
  return out;
}

const work = await mkdtemp(join(tmpdir(), 'bench-download-'));
const s3dir = join(work, 's3rver');
mkdirSync(s3dir);
const { child: s3rver, port } = await startS3rver(s3dir);
serverPid = s3rver.pid;
const endpoint = `http://127.0.0.1:${port}`;
try {
  const bucket = 'bench';
  const client = new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  const tree = makeTree(totalMb * MB, args.tree);
  const expected = {};
  const t0 = Date.now();
  for (let i = 0; i < tree.length; i += 8) {
    await Promise.all(
      tree.slice(i, i + 8).map(async (f) => {
        const hash = createHash('md5');
        await client.send(new PutObjectCommand({ Bucket: bucket, Key: `models/m1/${f.key}`, Body: randomStream(f.size, hash), ContentLength: f.size }));
        expected[f.key] = hash.digest('hex');
      }),
    );
  }
  client.destroy();
  const bytes = tree.reduce((a, f) => a + f.size, 0);
  console.log(`tree: ${tree.length} files, ${(bytes / MB).toFixed(0)} MiB (largest ${(Math.max(...tree.map((f) => f.size)) / MB).toFixed(0)} MiB), uploaded in ${((Date.now() - t0) / 1000).toFixed(1)} s; concurrency ${concurrency}`);

  const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME ?? '/root' };
  // rclone: the variables deployments set; AWS_CA_BUNDLE must not reach it (LoadCustomCABundleError)
  const rcloneEnv = { ...baseEnv, RCLONE_CONFIG: '/dev/null' };
  const rcloneArgs = (dest) => [
    'copy', '--checksum', '--fast-list', '--transfers', String(concurrency), '--checkers', String(concurrency),
    '--s3-provider', 'Other', '--s3-access-key-id', 'S3RVER', '--s3-secret-access-key', 'S3RVER', '--s3-endpoint', endpoint, '--s3-force-path-style',
    `:s3:${bucket}/models/m1`, dest,
  ];
  const mdEnv = { ...baseEnv, ...serviceEnv(repo, 'model-download'), AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', NODE_NO_WARNINGS: '1' };
  const mdArgs = (dest, extra = args['md-args']) => [...serviceNodeFlags(repo, 'model-download'), cli, '--source', `s3://${bucket}/models`, '--model', 'm1', '--models-dir', dest, '--concurrency', String(concurrency), '--progress', 'none', '--log_level', 'warn', ...extra.split(' ').filter(Boolean)];
  if (args['md-only']) {
    for (let r = 0; r < rounds; r++) {
      for (const [i, extra] of args['md-args'].split(';').entries()) {
        const dest = join(work, `variant-${r}-${i}`);
        const m = await measure(process.execPath, mdArgs(dest, extra), mdEnv);
        console.log(`round ${r + 1} cold [${extra.trim()}] ${m.seconds.toFixed(2)} s  cpu ${m.cpuSeconds.toFixed(2)} s (user ${m.userSeconds.toFixed(2)}, sys ${m.systemSeconds.toFixed(2)}; s3rver ${m.serverCpuSeconds.toFixed(2)})  peak RSS ${m.rssMb.toFixed(0)} MiB`);
        emptyFiles(dest);
      }
    }
    process.exitCode = 0;
  } else {

  const results = { rclone: { cold: [], noop: [] }, 'model-download': { cold: [], noop: [] } };
  for (let r = 0; r < rounds; r++) {
    // alternate which tool goes first so neither always gets the warmer cache
    const order = r % 2 === 0 ? ['rclone', 'model-download'] : ['model-download', 'rclone'];
    for (const tool of order) {
      // each tool's copy is checked and emptied before the other starts: on this VM, writing into page-cache
      // pages that were just freed costs a fraction of writing into memory the guest has not touched lately,
      // so a tool that ran while the other's 1 GiB copy still held the freed pages paid up to 3× the system time
      const dest = join(work, `${tool}-${r}`);
      for (const phase of ['cold', 'noop']) {
        const m = tool === 'rclone' ? await measure('rclone', rcloneArgs(join(dest, 'm1')), rcloneEnv) : await measure(process.execPath, mdArgs(dest), mdEnv);
        results[tool][phase].push(m);
        console.log(`round ${r + 1} ${phase.padEnd(4)} ${tool.padEnd(14)} ${m.seconds.toFixed(2)} s  cpu ${m.cpuSeconds.toFixed(2)} s (user ${m.userSeconds.toFixed(2)}, sys ${m.systemSeconds.toFixed(2)}; s3rver ${m.serverCpuSeconds.toFixed(2)})  peak RSS ${m.rssMb.toFixed(0)} MiB`);
      }
      // the copy must equal the source exactly
      const got = treeDigests(join(dest, 'm1'));
      const missing = Object.keys(expected).filter((k) => got[k] !== expected[k]);
      if (missing.length > 0 || Object.keys(got).length !== Object.keys(expected).length) throw new Error(`${tool} tree differs from the source: ${missing.slice(0, 5).join(', ')}`);
      emptyFiles(dest);
    }
  }

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const row = (tool, phase) => median(results[tool][phase].map((m) => m.seconds));
  const rss = (tool) => Math.max(...results[tool].cold.map((m) => m.rssMb), ...results[tool].noop.map((m) => m.rssMb));
  const summary = {
    date: new Date().toISOString(),
    tree: args.tree,
    files: tree.length,
    mib: Math.round(bytes / MB),
    concurrency,
    rounds,
    coldSeconds: { modelDownload: row('model-download', 'cold'), rclone: row('rclone', 'cold') },
    noopSeconds: { modelDownload: row('model-download', 'noop'), rclone: row('rclone', 'noop') },
    coldRatio: row('model-download', 'cold') / row('rclone', 'cold'),
    noopRatio: row('model-download', 'noop') / row('rclone', 'noop'),
    peakRssMib: { modelDownload: rss('model-download'), rclone: rss('rclone') },
    rcloneVersion: execFileSync('rclone', ['--version']).toString().split('\n')[0],
  };
  console.log('');
  console.log(`                 cold sync      no-op re-sync   peak RSS`);
  console.log(`model-download   ${summary.coldSeconds.modelDownload.toFixed(2).padStart(7)} s      ${summary.noopSeconds.modelDownload.toFixed(2).padStart(7)} s      ${summary.peakRssMib.modelDownload.toFixed(0)} MiB`);
  console.log(`rclone           ${summary.coldSeconds.rclone.toFixed(2).padStart(7)} s      ${summary.noopSeconds.rclone.toFixed(2).padStart(7)} s      ${summary.peakRssMib.rclone.toFixed(0)} MiB`);
  console.log(`ratio (md/rc)    ${summary.coldRatio.toFixed(2).padStart(7)}×       ${summary.noopRatio.toFixed(2).padStart(7)}×       target ≤ 1.00×, RSS < 200 MB`);
  const resultsDir = join(repo, 'tools', 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, `download-${summary.date.replace(/[:.]/g, '-')}.json`), `${JSON.stringify({ ...summary, runs: results }, null, 1)}\n`);
  }
} finally {
  s3rver.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(r, 3000);
    s3rver.once('exit', () => {
      clearTimeout(t);
      r();
    });
  });
  await rm(work, { recursive: true, force: true });
}
