// Bundles an app's src/main.ts with the workspace libs and third-party code it imports into dist/main.js.
// Bundling resolves each import from the importing file, so a lib gets the dependency version it declared
// even when another version is hoisted to the root. Packages with native binaries cannot be bundled: they
// stay external (NATIVE below, plus the app's optional package.json "bundlegate": {"external": [...]}),
// and the app's Docker image installs them next to dist/.
import { build } from 'esbuild';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const NATIVE = ['onnxruntime-node', 'sharp'];

const projectDir = process.cwd();
const pkg = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8'));
const external = [...NATIVE, ...(pkg.bundlegate?.external ?? [])];

await build({
  entryPoints: [join(projectDir, 'src/main.ts')],
  outfile: join(projectDir, 'dist/main.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  banner: { js: '#!/usr/bin/env node' },
  external: external.flatMap((name) => [name, `${name}/*`]),
});
// the file is the package's bin: npm links it at install time, before it exists, so it cannot set the mode
chmodSync(join(projectDir, 'dist/main.js'), 0o755);
console.log(`${pkg.name}: dist/main.js (external: ${external.join(', ')})`);
