import { execFile } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { dockerRunArgs, profileNetworks, type Profile } from './profile';
import { httpProbe } from './readiness';
import { runStack, type StackIo, type StackResult, type StackStep } from './stack';
import type { Supervisor } from './supervisor';

// `profile run`: each container is an attached `docker run` child, so its output streams here and
// its exit is noticed at once; stopping uses `docker stop`, which stops the container itself.

export interface ProfileRunOptions {
  /** Docker CLI binary (default `docker`). */
  readonly docker?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly readyTimeoutMs: number;
  readonly readyIntervalMs?: number;
  /** Seconds `docker stop` gives a container before killing it. */
  readonly stopTimeoutSeconds?: number;
  readonly supervisor?: Supervisor;
  readonly onReady?: () => void;
}

export class DockerCommandError extends Error {
  override readonly name = 'DockerCommandError';

  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    cause: Error,
  ) {
    super(`docker ${args.join(' ')} failed: ${stderr.trim() || cause.message}`, { cause });
  }
}

function docker(binary: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(binary, [...args], { env: env ?? process.env }, (error, stdout, stderr) => {
      if (error) reject(new DockerCommandError(args, String(stderr), error));
      else resolve(String(stdout));
    });
  });
}

/** Creates each network the profile names that does not exist yet. */
export async function ensureNetworks(profile: Profile, binary = 'docker', env?: NodeJS.ProcessEnv): Promise<string[]> {
  const created: string[] = [];
  for (const network of profileNetworks(profile)) {
    try {
      await docker(binary, ['network', 'inspect', network], env);
    } catch (error) {
      // inspect also fails when the daemon is unreachable: then create reports the real reason
      if (!(error instanceof DockerCommandError)) throw error;
      await docker(binary, ['network', 'create', network], env);
      created.push(network);
    }
  }
  return created;
}

/** The stack steps of a profile: one attached `docker run` per container, ready when its URLs answer 200. */
export function profileSteps(profile: Profile, options: Pick<ProfileRunOptions, 'docker' | 'env' | 'stopTimeoutSeconds'> = {}): StackStep[] {
  const binary = options.docker ?? 'docker';
  const stopTimeout = String(options.stopTimeoutSeconds ?? 10);
  return profile.containers.map((c) => ({
    spec: {
      name: c.name,
      command: binary,
      args: dockerRunArgs(profile, c, { detach: false }),
      env: options.env,
      stop: () => docker(binary, ['stop', '-t', stopTimeout, c.name], options.env).then(() => undefined),
    },
    probes: (c.ready ?? []).map((url) => httpProbe(url)),
    afterStart: async () => {
      for (const network of (c.networks ?? []).slice(1)) await connectWhenCreated(binary, network, c.name, options.env);
    },
  }));
}

/** `docker network connect`, retried while the attached `docker run` is still creating the container. */
async function connectWhenCreated(binary: string, network: string, container: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await docker(binary, ['network', 'connect', '--alias', container, network, container], env);
      return;
    } catch (error) {
      if (Date.now() > deadline || !/No such container/i.test((error as DockerCommandError).stderr ?? '')) throw error;
      await sleep(200);
    }
  }
}

/** Runs a profile until Ctrl-C or until a container stops; every container is stopped at the end. */
export async function runProfile(profile: Profile, io: StackIo, options: ProfileRunOptions): Promise<StackResult> {
  const created = await ensureNetworks(profile, options.docker, options.env);
  for (const network of created) io.log(`created network ${network}`);
  return runStack([], profileSteps(profile, options), io, {
    readyTimeoutMs: options.readyTimeoutMs,
    readyIntervalMs: options.readyIntervalMs,
    supervisor: options.supervisor,
    onReady: options.onReady,
  });
}
