import { runCli } from './cli';

// One stop request however many signals arrive at once (the terminal, npm and `npm start` may each
// forward Ctrl-C); a signal well after the first forces the exit.
const stop = new AbortController();
let firstSignalAt: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (firstSignalAt === undefined) {
      firstSignalAt = Date.now();
      stop.abort();
    } else if (Date.now() - firstSignalAt > 2_000) {
      process.stderr.write('bundlegate: stopping took too long; exiting now\n');
      process.exit(130);
    }
  });
}

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: stop.signal,
  scriptDir: __dirname,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`bundlegate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
