// `npm start`: build everything (Nx skips what is current), then run the local stack on the demo bundle
// with `bundlegate up`. Arguments after `npm start --` go to `bundlegate up` (e.g. `-- --free_ports`).
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'inherit' });
if (built.status !== 0) process.exit(built.status ?? 1);

const child = spawn(process.execPath, [join(root, 'apps/cli/dist/main.js'), 'up', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
// bundlegate treats a burst of signals as one stop request, so forwarding what also reached it is harmless
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
