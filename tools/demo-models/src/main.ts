import { existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkDemoBundle, writeDemoBundle } from './demo-bundle';

const USAGE = `Usage: demo-models [--out DIR] [--check]

Writes the demo bundle (models, bundle.yaml, bundle-signature.yaml, README.md, samples) to DIR
(default: <workspace>/deploy/demo). With --check, regenerates into a temporary directory instead and
exits 1 if the committed files in DIR differ.`;

/** The directory holding nx.json above `start`: the default output is relative to the workspace, not the cwd. */
function findWorkspaceRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

async function main(): Promise<number> {
  let values: { out?: string; check?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { out: { type: 'string' }, check: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const root = findWorkspaceRoot(dirname(process.argv[1] ?? process.cwd())) ?? findWorkspaceRoot(process.cwd());
  if (values.out === undefined && root === undefined) {
    console.error(`no nx.json found above this script or the working directory: pass --out\n\n${USAGE}`);
    return 2;
  }
  const outDir = resolve(values.out ?? join(root as string, 'deploy', 'demo'));
  const shown = relative(process.cwd(), outDir) || '.';

  if (values.check) {
    const differences = await checkDemoBundle(outDir);
    for (const d of differences) console.error(`${shown}/${d.path}: ${d.problem}`);
    if (differences.length > 0) {
      console.error('demo bundle is stale: run `npm run generate -w @bundlegate/demo-models` and commit the result');
      return 1;
    }
    console.log(`${shown}: demo bundle up to date`);
    return 0;
  }

  const files = await writeDemoBundle(outDir);
  for (const f of files) console.log(`${shown}/${f.path} (${f.bytes.length} bytes)`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
