// Node flags for a service a benchmark starts: those the app is deployed with (its package.json
// "bundlegate": {"nodeFlags": [...]}, as its Dockerfile and `bundlegate up` use them), then BENCH_NODE_FLAGS
// (say '--cpu-prof --cpu-prof-dir=DIR' or '--trace-gc'), which NODE_OPTIONS would refuse in part.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function serviceNodeFlags(root, app) {
  const pkg = JSON.parse(readFileSync(join(root, 'apps', app, 'package.json'), 'utf8'));
  return [...(pkg.bundlegate?.nodeFlags ?? []), ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '')];
}

// Environment a service is deployed with (package.json "bundlegate": {"env": {...}}, its Dockerfile's ENV).
export function serviceEnv(root, app) {
  const pkg = JSON.parse(readFileSync(join(root, 'apps', app, 'package.json'), 'utf8'));
  return pkg.bundlegate?.env ?? {};
}
