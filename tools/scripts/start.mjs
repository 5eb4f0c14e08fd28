// `npm start`: build everything, then run the local stack on the demo bundle with `bundlegate up`.
// Until every service of the stack exists, it runs the parts that do and names the ones that do not.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);

const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const cli = join(root, 'apps/cli/dist/main.js');
if (existsSync(cli)) {
  const child = spawn(process.execPath, [cli, 'up', ...args], { cwd: root, stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
} else {
  const parts = [
    ['model-download', 'apps/model-download/dist/main.js'],
    ['onnx-serving', 'apps/onnx-serving/dist/main.js'],
    ['gateway', 'apps/gateway/dist/main.js'],
    ['model-proxy', 'apps/model-proxy/dist/main.js'],
    ['bundlegate CLI (`up`)', 'apps/cli/dist/main.js'],
  ];
  console.log('\nBundlegate is still being built; the local stack cannot start yet.\n');
  for (const [name, file] of parts) {
    console.log(`  ${existsSync(join(root, file)) ? 'built      ' : 'not built  '} ${name}`);
  }
  const demo = join(root, 'deploy/demo/bundle.yaml');
  if (existsSync(demo)) console.log(`\nThe demo bundle is generated: ${demo}`);
  console.log('\n`npm start` will run `bundlegate up` on the demo bundle once the CLI exists.');
  process.exit(1);
}
