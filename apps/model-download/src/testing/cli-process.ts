import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const projectDir = resolve(__dirname, '..', '..');
export const CLI_PATH = join(projectDir, 'dist', 'main.js');

/** Builds dist/main.js with the app's own build script, as shipped. */
export async function buildCli(): Promise<string> {
  await promisify(execFile)(process.execPath, [join(projectDir, '..', '..', 'tools', 'scripts', 'build-app.mjs')], { cwd: projectDir });
  if (!existsSync(CLI_PATH)) throw new Error(`build did not produce ${CLI_PATH}`);
  return CLI_PATH;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI; only the variables given (plus PATH) reach it, so the host's cloud settings cannot leak in. */
export function runBuiltCli(args: string[], env: Record<string, string>, opts: { cwd?: string; killAfterMs?: number } = {}): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child: ChildProcess = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = opts.killAfterMs !== undefined ? setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs) : undefined;
    child.once('error', fail);
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}
