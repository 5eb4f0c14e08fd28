// Bundles an app's src/main.ts (and the workspace libs it imports) into dist/main.js.
// Third-party packages stay external: native ones (onnxruntime-node, sharp) cannot be bundled,
// and the Docker images install the app's production dependencies next to dist/.
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const projectDir = process.cwd();
const pkg = JSON.parse(readFileSync(join(projectDir, 'package.json'), 'utf8'));

const externalThirdParty = {
  name: 'external-third-party',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@bundlegate/') ? undefined : { path: args.path, external: true },
    );
  },
};

await build({
  entryPoints: [join(projectDir, 'src/main.ts')],
  outfile: join(projectDir, 'dist/main.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  banner: { js: '#!/usr/bin/env node' },
  plugins: [externalThirdParty],
});
console.log(`${pkg.name}: dist/main.js`);
