#!/usr/bin/env node
// onnx-serving benchmark runner: builds onnx-serving, bundles bench.ts (it uses the workspace libs) and runs it.
//
//   node tools/bench/onnx-serving/run.mjs [--seconds 5] [--compare] [--models anomaly|classifier]
//   npm run bench -w @bundlegate/onnx-serving -- --compare
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../../..');

execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--projects=@bundlegate/onnx-serving', '--outputStyle=static'], {
  cwd: root,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, NX_DAEMON: 'false' },
});
const outfile = join(mkdtempSync(join(tmpdir(), 'bg-bench-onnx-')), 'bench.cjs');
await build({
  entryPoints: [join(here, 'bench.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
  // native packages cannot be bundled; resolve them from the repository
  external: ['onnxruntime-node', 'sharp'],
  nodePaths: [join(root, 'node_modules')],
});
execFileSync(process.execPath, [outfile, ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, BENCH_ROOT: root, NODE_PATH: join(root, 'node_modules') },
});
