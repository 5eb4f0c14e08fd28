import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// The other services of the stack, run from their built dist/main.js (apps are never imported), on 127.0.0.1.

export const REPO_ROOT = join(__dirname, '..', '..', '..');

const PROJECTS = { gateway: '@bundlegate/gateway', 'onnx-serving': '@bundlegate/onnx-serving', 'model-proxy': '@bundlegate/model-proxy' } as const;
export type ServiceName = keyof typeof PROJECTS;

export function distMain(name: ServiceName): string {
  return join(REPO_ROOT, 'apps', name, 'dist', 'main.js');
}

/** Newest modification time of the .ts files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Whether dist/main.js is missing or older than the app's or any lib's sources (apps bundle libs from source). */
function isStale(name: ServiceName, libsNewest: number): boolean {
  const dist = distMain(name);
  if (!existsSync(dist)) return true;
  return statSync(dist).mtimeMs < Math.max(libsNewest, newestSource(join(REPO_ROOT, 'apps', name, 'src')));
}

/** Builds the services whose dist is missing or stale (CI has built them already; locally this catches edits). */
export function buildServices(names: readonly ServiceName[]): void {
  const libsNewest = Math.max(...readdirSync(join(REPO_ROOT, 'libs')).map((lib) => newestSource(join(REPO_ROOT, 'libs', lib, 'src'))));
  const stale = names.filter((n) => isStale(n, libsNewest));
  if (stale.length > 0) {
    // the apps bundle their libs from source, so their own build is all that is needed
    const args = ['nx', 'run-many', '-t', 'build', `--projects=${stale.map((n) => PROJECTS[n]).join(',')}`, '--excludeTaskDependencies', '--outputStyle=static'];
    execFileSync('npx', args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NX_DAEMON: 'false' } });
  }
  for (const n of names) if (!existsSync(distMain(n))) throw new Error(`${n} was not built: ${distMain(n)} is missing`);
}

export interface RunningService {
  readonly process: ChildProcess;
  /** The JSON log lines awaited, by message (their fields carry the bound ports). */
  readonly lines: ReadonlyMap<string, Record<string, unknown>>;
  stop(): Promise<void>;
}

/**
 * Starts `node <dist> ...args` and resolves once JSON log lines with each of `readyMsgs` as `msg` have appeared.
 * Fails with the service's stderr if it exits first.
 */
export function startService(name: ServiceName, args: readonly string[], readyMsgs: readonly string[], timeoutMs = 60_000): Promise<RunningService> {
  const child = spawn(process.execPath, [distMain(name), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name} did not log ${readyMsgs.join(', ')} within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    const seen = new Map<string, Record<string, unknown>>();
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        return;
      }
      const msg = line['msg'];
      if (typeof msg === 'string' && readyMsgs.includes(msg)) seen.set(msg, line);
      if (seen.size === readyMsgs.length) {
        clearTimeout(timer);
        lines.removeAllListeners('line');
        child.stdout?.resume();
        resolve({ process: child, lines: seen, stop });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before logging ${readyMsgs.join(', ')}; stderr: ${stderr}`));
    });
  });
}

/** onnx-serving with every model of `modelsDir` named in `ids`, from an OVMS config.json; resolves once they are loaded. */
export async function startOnnxServing(modelsDir: string, ids: readonly string[]): Promise<RunningService & { grpcPort: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'bg-proxy-serving-'));
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ model_config_list: ids.map((id) => ({ config: { name: id, base_path: join(modelsDir, id) } })) }));
  const args = ['--config_path', configPath, '--port', '0', '--rest_port', '0', '--grpc_bind_address', '127.0.0.1', '--rest_bind_address', '127.0.0.1', '--log_level', 'INFO'];
  const service = await startService('onnx-serving', args, ['listening', 'serving']);
  return { ...service, grpcPort: Number(service.lines.get('listening')?.['grpcPort']) };
}

/** The gateway routing each id to `target` by model-id. */
export async function startGateway(routes: readonly string[], target: string): Promise<RunningService & { grpcPort: number }> {
  const args = ['--host', '127.0.0.1', '--port', '0', '--rest_port', '0', ...routes.flatMap((id) => ['--route', `${id}=${target}`])];
  const service = await startService('gateway', args, ['gateway listening']);
  return { ...service, grpcPort: Number(service.lines.get('gateway listening')?.['grpcPort']) };
}
