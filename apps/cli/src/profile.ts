import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import Ajv from 'ajv';
import { parse as parseYaml } from 'yaml';

// Launch profiles: a YAML array of containers, run with the Docker CLI in order, each waited for
// until its readiness URLs answer 200 before the next starts.

export interface ProfileContainer {
  /** Container name; also its host name on the profile's networks. */
  readonly name: string;
  readonly image: string;
  /** Environment file (relative paths resolve against the profile's directory). */
  readonly envFile?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Replaces the image's entrypoint: the first item is the program, the rest come before `args`. */
  readonly entrypoint?: readonly string[];
  readonly args?: readonly string[];
  /** `SOURCE:TARGET[:ro]`; a SOURCE starting with `.` or `/` is a host path (relative to the profile), else a named volume. */
  readonly volumes?: readonly string[];
  readonly networks?: readonly string[];
  /** docker `-p` specs: `127.0.0.1:8001:8001`. */
  readonly ports?: readonly string[];
  /** URLs polled from this machine until each answers 200 (KServe ready, /readyz); none: ready once started. */
  readonly ready?: readonly string[];
}

export interface Profile {
  /** Absolute path of the profile file. */
  readonly file: string;
  readonly containers: readonly ProfileContainer[];
}

export class ProfileError extends Error {
  override readonly name = 'ProfileError';

  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${problems.length} problem${problems.length === 1 ? '' : 's'} in ${file}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const NAME = '^[a-zA-Z0-9][a-zA-Z0-9_.-]*$';
const stringList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;

/** JSON Schema of a profile file. */
export const PROFILE_SCHEMA = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'Bundlegate launch profile',
  description: 'An array of containers, started in order with the Docker CLI.',
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'image'],
    properties: {
      name: { type: 'string', pattern: NAME, description: 'Container name and host name on its networks.' },
      image: { type: 'string', pattern: '^\\S+$' },
      envFile: { type: 'string', minLength: 1, description: 'Environment file, relative to the profile.' },
      env: { type: 'object', additionalProperties: { type: 'string' } },
      entrypoint: { ...stringList, minItems: 1 },
      args: stringList,
      volumes: { type: 'array', items: { type: 'string', pattern: '^[^:]+:/[^:]*(:(ro|rw))?$' } },
      networks: { type: 'array', items: { type: 'string', pattern: NAME } },
      ports: { type: 'array', items: { type: 'string', pattern: '^([0-9.]+:)?(\\d+:)?\\d+(/(tcp|udp))?$' } },
      ready: { type: 'array', items: { type: 'string', pattern: '^https?://' } },
    },
  },
} as const;

let validateProfile: ReturnType<Ajv['compile']> | undefined;

/** Parses and checks profile text; relative paths stay as written (see `hostPath`). */
export function parseProfile(text: string, file: string): Profile {
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (error) {
    throw new ProfileError(file, [`not valid YAML: ${(error as Error).message}`]);
  }
  validateProfile ??= new Ajv({ allErrors: true, strict: true }).compile(PROFILE_SCHEMA);
  if (!validateProfile(value)) {
    const problems = (validateProfile.errors ?? []).map((e) => {
      const params = e.params as { additionalProperty?: string };
      const extra = params.additionalProperty === undefined ? '' : ` '${params.additionalProperty}'`;
      return `${e.instancePath === '' ? '(root)' : e.instancePath.slice(1).replace(/\//g, '.')}: ${e.message ?? 'invalid'}${extra}`;
    });
    throw new ProfileError(file, problems);
  }
  const containers = value as ProfileContainer[];
  const problems: string[] = [];
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    if (seen.has(c.name)) problems.push(`${i}.name: container name '${c.name}' is used twice`);
    seen.add(c.name);
  });
  if (problems.length > 0) throw new ProfileError(file, problems);
  return { file: resolve(file), containers };
}

export async function loadProfile(file: string): Promise<Profile> {
  return parseProfile(await readFile(file, 'utf8'), file);
}

/** A host path of the profile made absolute against the profile's directory. */
export function hostPath(profile: Profile, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(profile.file), path);
}

/** `-v` value with a relative host path made absolute (named volumes stay as written). */
function volumeArg(profile: Profile, spec: string): string {
  const colon = spec.indexOf(':');
  const source = spec.slice(0, colon);
  return source.startsWith('.') || source.startsWith('/') ? `${hostPath(profile, source)}${spec.slice(colon)}` : spec;
}

export interface DockerRunOptions {
  /** Start in the background (`-d`), as a person pasting the line wants; `profile run` keeps it attached. */
  readonly detach: boolean;
}

/** `docker run` arguments (without `docker`) for one container of a profile. */
export function dockerRunArgs(profile: Profile, c: ProfileContainer, options: DockerRunOptions): string[] {
  const args = ['run'];
  if (options.detach) args.push('-d');
  args.push('--rm', '--name', c.name);
  // docker run joins one network; the others are connected once the container runs
  const [network] = c.networks ?? [];
  if (network !== undefined) args.push('--network', network, '--network-alias', c.name);
  if (c.envFile !== undefined) args.push('--env-file', hostPath(profile, c.envFile));
  for (const [key, value] of Object.entries(c.env ?? {})) args.push('-e', `${key}=${value}`);
  for (const port of c.ports ?? []) args.push('-p', port);
  for (const volume of c.volumes ?? []) args.push('-v', volumeArg(profile, volume));
  const [program, ...entryArgs] = c.entrypoint ?? [];
  if (program !== undefined) args.push('--entrypoint', program);
  args.push(c.image, ...entryArgs, ...(c.args ?? []));
  return args;
}

const SHELL_SAFE = /^[A-Za-z0-9_\-+=:,./@%]+$/;

/** One shell word: as is when plain, else single-quoted (readable lines, unlike escaping every ':'). */
export function shellWord(arg: string): string {
  return SHELL_SAFE.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

function quote(args: readonly string[]): string {
  return args.map(shellWord).join(' ');
}

/** Networks the profile uses, in order of first use. */
export function profileNetworks(profile: Profile): string[] {
  return [...new Set(profile.containers.flatMap((c) => c.networks ?? []))];
}

/** The shell lines equivalent to `profile run`: create networks, then one `docker run -d` per container. */
export function printProfile(profile: Profile, docker = 'docker'): string[] {
  const lines = profileNetworks(profile).map((n) => `${quote([docker, 'network', 'create', n])} 2>/dev/null || true`);
  for (const c of profile.containers) {
    lines.push(quote([docker, ...dockerRunArgs(profile, c, { detach: true })]));
    for (const n of (c.networks ?? []).slice(1)) lines.push(quote([docker, 'network', 'connect', '--alias', c.name, n, c.name]));
  }
  return lines;
}
