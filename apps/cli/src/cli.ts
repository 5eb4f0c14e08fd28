import { join, relative, resolve } from 'node:path';
import { BundleFileError, loadBundleFile, type LoadedBundle } from '@bundlegate/bundle';
import { encryptModelFile, readModelKeyFile } from '@bundlegate/model-crypto';
import {
  bool,
  ConfigError,
  duration,
  filePath,
  formatProblem,
  helpText,
  int,
  isBgError,
  list,
  loadConfig,
  positional,
  string,
  wantsHelp,
  type ConfigOf,
  type ConfigSpec,
} from '@bundlegate/service-kit';
import type { GpuSelection } from './compose';
import { DEFAULT_REGISTRY, DEFAULT_TAG } from './containers';
import { generateCompose } from './generate-compose';
import { generateK8s } from './generate-k8s';
import { busyPorts, DEFAULT_STACK_PORTS, freeStackPorts, portConflicts, portsFromBase, STACK_PORT_NAMES, type StackPorts } from './ports';
import { loadProfile, printProfile, ProfileError } from './profile';
import { DockerCommandError, runProfile } from './profile-run';
import { demoBundle, findRepoRoot } from './repo-root';
import { runStack } from './stack';
import { Supervisor, type OutputStream } from './supervisor';
import { missingApps, planUp, UpPlanError } from './up';

// `bundlegate`: one function per subcommand; each parses its flags with service-kit (every problem at
// once, exit 2) and returns the exit status.

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Ctrl-C / SIGTERM: long-running commands stop everything they started. */
  readonly signal: AbortSignal;
  /** Directory of the running CLI, to find the checkout whose apps `up` runs. */
  readonly scriptDir: string;
  /** Where the output of started processes goes (default: this process's stdout / stderr, each line prefixed). */
  readonly relay?: (name: string, line: string, stream: OutputStream) => void;
}

export const USAGE = `Usage: bundlegate <command> [options]

Commands:
  up [--bundle bundle.yaml]                            run the stack as local processes (default: the demo bundle)
  generate compose --bundle bundle.yaml --out DIR      docker compose: DIR/base (rewritten) and DIR/example (never overwritten)
  generate k8s --bundle bundle.yaml --out DIR          Kubernetes manifests (DIR is rewritten)
  profile run PROFILE.yaml                             start a launch profile's containers with the Docker CLI
  profile print PROFILE.yaml                           print the equivalent docker commands
  encrypt-model --key FILE IN OUT                      encrypt a model file into the .enc format model-download decrypts

Run "bundlegate <command> --help" for a command's options.
`;

const generateSpec = {
  bundle: filePath({ flag: 'bundle', env: 'BUNDLEGATE_BUNDLE', mustExist: 'file', required: true, help: 'bundle.yaml to deploy (its signature file is read too).' }),
  out: filePath({ flag: 'out', env: 'BUNDLEGATE_OUT', required: true, help: 'Output directory.' }),
  gpu: list({ flag: 'gpu', env: 'BUNDLEGATE_GPU', help: 'Model id whose serving container reserves a GPU (repeatable), or "all".' }),
  registry: string({ flag: 'registry', env: 'BUNDLEGATE_REGISTRY', default: DEFAULT_REGISTRY, help: "Registry (or Docker Hub user) of Bundlegate's images." }),
  tag: string({ flag: 'tag', env: 'BUNDLEGATE_TAG', default: DEFAULT_TAG, help: "Tag of Bundlegate's images." }),
} satisfies ConfigSpec;

const composeSpec = {
  ...generateSpec,
  relDir: filePath({ flag: 'rel_dir', env: 'BUNDLEGATE_REL_DIR', help: 'REL_DIR written to example/.env (default: the absolute path of DIR/example).' }),
} satisfies ConfigSpec;

const k8sSpec = {
  ...generateSpec,
  nodeBundleDir: string({
    flag: 'node_bundle_dir',
    env: 'BUNDLEGATE_NODE_BUNDLE_DIR',
    help: "Where the bundle's directory is on the nodes: file:// sources are mounted from there (default: where it is here).",
  }),
} satisfies ConfigSpec;

const upSpec = (defaultBundle: string | undefined) =>
  ({
    // outside a checkout there is no demo bundle: the default is then a path that is reported missing
    bundle: filePath({ flag: 'bundle', env: 'BUNDLEGATE_BUNDLE', mustExist: 'file', default: defaultBundle ?? 'deploy/demo/bundle.yaml', help: 'bundle.yaml to run (default: the demo bundle).' }),
    workDir: filePath({ flag: 'work_dir', env: 'BUNDLEGATE_WORK_DIR', help: 'Where models are downloaded and configs written (default: tmp/up/<bundle name> in the checkout).' }),
    basePort: int({ flag: 'base_port', env: 'BUNDLEGATE_BASE_PORT', min: 1, max: 65530, help: 'Use six ports from this one: proxy HTTP, proxy gRPC, gateway gRPC, gateway REST, serving gRPC, serving REST.' }),
    freePorts: bool({ flag: 'free_ports', env: 'BUNDLEGATE_FREE_PORTS', help: 'Use any free ports instead of 8000/8005, 8080/8081, 9000/8001.' }),
    route: list({ flag: 'route', env: 'BUNDLEGATE_ROUTE', separator: ';', help: 'ID=HOST:PORT[,HOST:PORT…] for a model not served by onnx-serving (repeatable).' }),
    readyTimeout: duration({ flag: 'ready_timeout', env: 'BUNDLEGATE_READY_TIMEOUT', min: 1, default: '120s', help: 'How long each service may take to become ready.' }),
  }) satisfies ConfigSpec;

const profileSpec = {
  profile: positional({ name: 'PROFILE.yaml', required: true, help: 'Profile file: an array of containers.' }),
  docker: string({ flag: 'docker', env: 'BUNDLEGATE_DOCKER', default: 'docker', help: 'Docker CLI to run.' }),
  readyTimeout: duration({ flag: 'ready_timeout', env: 'BUNDLEGATE_READY_TIMEOUT', min: 1, default: '180s', help: 'How long each container may take to become ready.' }),
} satisfies ConfigSpec;

const encryptSpec = {
  key: filePath({ flag: 'key', env: 'BUNDLEGATE_MODEL_KEY_FILE', mustExist: 'file', required: true, help: 'Key file: 32 bytes, base64 (e.g. `openssl rand -base64 32 > creds/bundle/model.key`).' }),
  input: positional({ name: 'IN', required: true, help: 'Plain model file.' }),
  output: positional({ name: 'OUT', required: true, help: 'Encrypted file to write (conventionally IN.enc).' }),
} satisfies ConfigSpec;

class UsageError extends Error {}

function parse<S extends ConfigSpec>(spec: S, argv: readonly string[], io: CliIo, name: string, summary: string): ConfigOf<S> | number {
  if (wantsHelp(argv)) {
    io.stdout.write(helpText(spec, { name, summary }));
    return 0;
  }
  try {
    return loadConfig(spec, { argv, env: io.env, cwd: io.cwd });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr.write(`${name}: invalid options (${error.problems.length}):\n${error.problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}\nRun "${name} --help" for every option.\n`);
    return 2;
  }
}

function gpuSelection(loaded: LoadedBundle, gpu: readonly string[]): GpuSelection {
  if (gpu.includes('all')) return 'all';
  const known = new Set(loaded.bundle.models.map((m) => m.id));
  const unknown = gpu.filter((id) => !known.has(id));
  if (unknown.length > 0) throw new UsageError(`--gpu: no model ${unknown.join(', ')} in ${loaded.bundle.file}`);
  return new Set(gpu);
}

function display(io: CliIo, path: string): string {
  const rel = relative(io.cwd, path);
  return rel === '' ? '.' : rel.startsWith('..') ? path : rel;
}

async function generateComposeCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const c = parse(composeSpec, argv, io, 'bundlegate generate compose', 'Writes OUT/base (the services of the bundle, rewritten every run) and OUT/example (a deployment directory, never overwritten).');
  if (typeof c === 'number') return c;
  const gpus = gpuSelection(await loadBundleFile(c.bundle), c.gpu);
  const result = await generateCompose({ bundlePath: c.bundle, outDir: c.out, gpus, registry: c.registry, tag: c.tag, relDir: c.relDir });
  io.stdout.write(`wrote ${display(io, result.baseDir)}/: ${result.baseFiles.join(', ')}\n`);
  if (result.exampleWritten.length > 0) io.stdout.write(`wrote ${display(io, result.exampleDir)}/: ${result.exampleWritten.join(', ')}\n`);
  if (result.exampleKept.length > 0) io.stdout.write(`kept ${display(io, result.exampleDir)}/: ${result.exampleKept.join(', ')} (never overwritten)\n`);
  for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`);
  io.stdout.write(`deploy: cd ${display(io, result.exampleDir)} && docker compose up -d\n`);
  return 0;
}

async function generateK8sCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const c = parse(k8sSpec, argv, io, 'bundlegate generate k8s', 'Writes Kubernetes manifests for the bundle to OUT (rewritten every run) with a kustomization.yaml.');
  if (typeof c === 'number') return c;
  const gpus = gpuSelection(await loadBundleFile(c.bundle), c.gpu);
  const result = await generateK8s({ bundlePath: c.bundle, outDir: c.out, gpus, registry: c.registry, tag: c.tag, nodeBundleDir: c.nodeBundleDir });
  io.stdout.write(`wrote ${display(io, result.outDir)}/: ${result.files.join(', ')}\n`);
  for (const w of result.warnings) io.stderr.write(`warning: ${w}\n`);
  io.stdout.write(`deploy: kubectl apply -k ${display(io, result.outDir)}\n`);
  return 0;
}

async function choosePorts(c: { basePort: number | undefined; freePorts: boolean }): Promise<StackPorts> {
  if (c.basePort !== undefined && c.freePorts) throw new UsageError('give --base_port or --free_ports, not both');
  if (c.freePorts) return freeStackPorts();
  const ports = c.basePort === undefined ? DEFAULT_STACK_PORTS : portsFromBase(c.basePort);
  const conflicts = portConflicts(ports);
  if (conflicts.length > 0) throw new UsageError(conflicts.join('; '));
  const busy = await busyPorts(ports);
  if (busy.length > 0) {
    throw new UsageError(
      `${busy.map((k) => `port ${ports[k]} (${STACK_PORT_NAMES[k]})`).join(', ')} already in use: stop what uses it, or pass --free_ports or --base_port N`,
    );
  }
  return ports;
}

async function upCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const repoRoot = findRepoRoot(io.scriptDir) ?? findRepoRoot(io.cwd);
  const c = parse(upSpec(repoRoot === undefined ? undefined : demoBundle(repoRoot)), argv, io, 'bundlegate up', 'Runs model-download, onnx-serving, the gateway and the model proxy as local processes, waits until they are ready, and stops them all on Ctrl-C or when one dies.');
  if (typeof c === 'number') return c;
  if (repoRoot === undefined) throw new UsageError('up runs the apps of a Bundlegate checkout: run it from inside one');
  const missing = missingApps(repoRoot);
  if (missing.length > 0) throw new UsageError(`not built: ${missing.join(', ')} (apps/<name>/dist/main.js); run "npm run build" first`);
  const loaded = await loadBundleFile(c.bundle);
  const routes = new Map<string, string>();
  for (const item of c.route) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--route ${item}: expected ID=HOST:PORT[,HOST:PORT…]`);
    routes.set(item.slice(0, eq), item.slice(eq + 1));
  }
  const ports = await choosePorts(c);
  const workDir = c.workDir ?? join(repoRoot, 'tmp', 'up', loaded.bundle.name);
  const plan = planUp(loaded, { repoRoot, workDir, ports, routes, env: io.env, cwd: io.cwd });
  const log = (line: string): void => void io.stdout.write(`bundlegate: ${line}\n`);
  log(`bundle ${display(io, resolve(c.bundle))}, models in ${display(io, plan.modelsDir)}`);
  const result = await runStack(plan.jobs, plan.services, { log, signal: io.signal }, {
    readyTimeoutMs: c.readyTimeout,
    supervisor: new Supervisor({ output: io.relay }),
    onReady: () => io.stdout.write(plan.banner),
  });
  return result.exitCode;
}

async function profileCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'run' && action !== 'print') throw new UsageError(`profile: expected "run" or "print", got ${JSON.stringify(action ?? '')}`);
  const c = parse(profileSpec, rest, io, `bundlegate profile ${action}`, action === 'run' ? "Starts each container of the profile in order with the Docker CLI, waits until it is ready, and stops them all on Ctrl-C or when one stops." : 'Prints the docker commands equivalent to "profile run".');
  if (typeof c === 'number') return c;
  const profile = await loadProfile(resolve(io.cwd, c.profile));
  if (action === 'print') {
    io.stdout.write(`${printProfile(profile, c.docker).join('\n')}\n`);
    return 0;
  }
  const log = (line: string): void => void io.stdout.write(`bundlegate: ${line}\n`);
  const result = await runProfile(profile, { log, signal: io.signal }, {
    docker: c.docker,
    env: io.env,
    supervisor: new Supervisor({ output: io.relay }),
    readyTimeoutMs: c.readyTimeout,
    onReady: () => io.stdout.write(`\nAll ${profile.containers.length} containers are ready. Ctrl-C stops them.\n\n`),
  });
  return result.exitCode;
}

async function encryptCommand(argv: readonly string[], io: CliIo): Promise<number> {
  const c = parse(encryptSpec, argv, io, 'bundlegate encrypt-model', 'Encrypts a model file (BGENC1 ‖ IV ‖ AES-256-GCM ciphertext ‖ tag); model-download decrypts it with the same key.');
  if (typeof c === 'number') return c;
  try {
    await encryptModelFile(await readModelKeyFile(resolve(io.cwd, c.key)), resolve(io.cwd, c.input), resolve(io.cwd, c.output));
  } catch (error) {
    io.stderr.write(`bundlegate encrypt-model: ${isBgError(error) ? `${error.code}: ${error.message}` : (error as Error).message}\n`);
    return 1;
  }
  return 0;
}

/** Runs one `bundlegate` command line; resolves with the exit status. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'generate': {
        const [what, ...flags] = rest;
        if (what === 'compose') return await generateComposeCommand(flags, io);
        if (what === 'k8s') return await generateK8sCommand(flags, io);
        throw new UsageError(`generate: expected "compose" or "k8s", got ${JSON.stringify(what ?? '')}`);
      }
      case 'up':
        return await upCommand(rest, io);
      case 'profile':
        return await profileCommand(rest, io);
      case 'encrypt-model':
        return await encryptCommand(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof UpPlanError) {
      io.stderr.write(`bundlegate: ${error.message}\n`);
      if (error instanceof UsageError && error.message.startsWith('unknown command')) io.stderr.write(USAGE);
      return 2;
    }
    if (error instanceof BundleFileError || error instanceof ProfileError) {
      io.stderr.write(`bundlegate: ${error.message}\n`);
      return 2;
    }
    if (error instanceof DockerCommandError) {
      io.stderr.write(`bundlegate: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
