#!/usr/bin/env node
// Model-proxy benchmark runner: builds onnx-serving, gateway and model-proxy, bundles bench.ts (it uses the
// workspace libs) and runs it. Prints p50/p99 per path, the added latency and where it goes.
//
//   node tools/bench/model-proxy/run.mjs [--requests 300] [--rounds 3]
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--projects=@bundlegate/onnx-serving,@bundlegate/gateway,@bundlegate/model-proxy', '--outputStyle=static'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, NX_DAEMON: 'false' },
});
const outfile = join(mkdtempSync(join(tmpdir(), 'bg-bench-')), 'bench.cjs');
await build({
  entryPoints: [join(here, 'bench.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  // native packages cannot be bundled; resolve them from the repository
  external: ['sharp', 'onnxruntime-node', 'swagger-ui-dist', '@grpc/reflection'],
  nodePaths: [join(root, 'node_modules')],
});
execFileSync(process.execPath, [outfile, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, BENCH_ROOT: root, NODE_PATH: join(root, 'node_modules') },
});
