import { spawn, type ChildProcess } from 'node:child_process';

/** An emulator running in its own process on 127.0.0.1. */
export interface ChildEmulator {
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

export interface SpawnEmulatorOptions {
  script: string;
  env: NodeJS.ProcessEnv;
  name: string;
  startTimeoutMs?: number;
}

const PORT_LINE = /BG_EMULATOR_PORT=(\d+)/;

/** Starts `node script`, waits for its `BG_EMULATOR_PORT=<port>` line, and returns a handle that stops it. */
export function spawnEmulator(opts: SpawnEmulatorOptions): Promise<ChildEmulator> {
  const child = spawn(process.execPath, [opts.script], {
    env: opts.env,
    // stdin is a pipe so the child also exits when this process dies without calling stop()
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000);
  });
  return new Promise<ChildEmulator>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${opts.name} did not start within ${opts.startTimeoutMs ?? 30000} ms: ${stderr}`));
    }, opts.startTimeoutMs ?? 30000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${opts.name} exited with ${code} before listening: ${stderr}`));
    };
    child.once('exit', onExit);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      const m = PORT_LINE.exec(stdout);
      if (!m?.[1]) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      stdout = '';
      child.stdout?.removeAllListeners('data');
      child.stdout?.resume();
      resolve({ port: Number(m[1]), pid: child.pid ?? -1, stop: () => stopChild(child) });
    });
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
