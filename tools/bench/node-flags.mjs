// How a service a benchmark starts is run: as it is deployed (its package.json "bundlegate" block, which its
// Dockerfile and `bundlegate up` follow too), plus BENCH_NODE_FLAGS for node flags.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

function deployed(root, app) {
  return JSON.parse(readFileSync(join(root, 'apps', app, 'package.json'), 'utf8')).bundlegate ?? {};
}

// Node flags: the app's "nodeFlags", then BENCH_NODE_FLAGS (say '--cpu-prof --cpu-prof-dir=DIR' or
// '--trace-gc'), which NODE_OPTIONS would refuse in part.
export function serviceNodeFlags(root, app) {
  return [...(deployed(root, app).nodeFlags ?? []), ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '')];
}

// Environment: the app's "env" (its Dockerfile's ENV).
export function serviceEnv(root, app) {
  return deployed(root, app).env ?? {};
}
