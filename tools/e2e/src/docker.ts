import { execFile } from 'node:child_process';
import { parseTop, type ContainerInspect, type ProcessEntry } from './containers';

// The Docker CLI and the compose wrapper of the run, as promises; every failure carries stderr.

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; never rejects for a non-zero exit (the caller decides), only for a timeout. */
export function runCommand(file: string, args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error && error.killed) {
        reject(new Error(`${file} ${args.join(' ')}: no answer within ${timeoutMs} ms\n${stderr}`));
        return;
      }
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command and returns its stdout; rejects with its exit code and stderr when it fails. */
export async function mustRun(file: string, args: readonly string[], timeoutMs?: number): Promise<string> {
  const r = await runCommand(file, args, timeoutMs);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}:\n${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

export class DockerCli {
  constructor(readonly bin = 'docker') {}

  async inspect(ids: readonly string[]): Promise<ContainerInspect[]> {
    if (ids.length === 0) return [];
    return JSON.parse(await mustRun(this.bin, ['inspect', ...ids])) as ContainerInspect[];
  }

  /** Processes of a running container, numeric uids (ps runs on the host, so these are host uids). */
  async top(id: string): Promise<ProcessEntry[]> {
    return parseTop(await mustRun(this.bin, ['top', id, '-eo', 'uid,pid,args']));
  }

  exec(id: string, command: readonly string[]): Promise<CommandResult> {
    return runCommand(this.bin, ['exec', id, ...command]);
  }

  logs(id: string): Promise<CommandResult> {
    return runCommand(this.bin, ['logs', id]);
  }

  /** The IPv4 gateway of a network: the host's address on it. */
  async networkGateway(name: string): Promise<string> {
    const [network] = JSON.parse(await mustRun(this.bin, ['network', 'inspect', name])) as { IPAM: { Config: { Gateway?: string }[] } }[];
    const gateway = network?.IPAM.Config.map((c) => c.Gateway).find((g) => g !== undefined && g.includes('.'));
    if (gateway === undefined) throw new Error(`network ${name} has no IPv4 gateway`);
    return gateway;
  }
}

/** A compose project through the run's wrapper (docker-compose v1 with its -p, -f, --env-file and --compatibility). */
export class ComposeProject {
  constructor(
    readonly bin: string,
    readonly name: string,
  ) {}

  run(args: readonly string[], timeoutMs?: number): Promise<string> {
    return mustRun(this.bin, args, timeoutMs);
  }

  /** Container ids of the project, or of one service. */
  async containerIds(service?: string): Promise<string[]> {
    const out = await this.run(service === undefined ? ['ps', '-a', '-q'] : ['ps', '-a', '-q', service]);
    return out.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  }

  /** compose v1 names the default network `<project>_default`. */
  get defaultNetwork(): string {
    return `${this.name}_default`;
  }
}
