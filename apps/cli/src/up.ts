import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { inputKey, ovmsConfig, type BundleModel, type LoadedBundle, type OvmsConfig } from '@bundlegate/bundle';
import { onnxServingServerArgs } from './engine-args';
import { httpProbe } from './readiness';
import type { StackPorts } from './ports';
import type { StackStep } from './stack';

// `bundlegate up`: the bundle as local processes — model-download, one onnx-serving for every
// onnx-serving model, the gateway routing to it, and the model proxy in front.

/** The apps `up` runs, by the name used in output; each is `apps/<name>/dist/main.js`. */
export const STACK_APPS = ['model-download', 'onnx-serving', 'gateway', 'model-proxy'] as const;
export type StackApp = (typeof STACK_APPS)[number];

export interface UpOptions {
  /** Checkout root: apps are run from `<repoRoot>/apps/<name>/dist/main.js`. */
  readonly repoRoot: string;
  /** Models are downloaded to `<workDir>/models`; onnx-serving's config.json is written here. */
  readonly workDir: string;
  readonly ports: StackPorts;
  /** Models not served by onnx-serving, routed to servers the user runs: model id → `host:port[,host:port…]`. */
  readonly routes?: ReadonlyMap<string, string>;
  /** Node binary for the apps (default: this one). */
  readonly node?: string;
  /** Environment of the apps (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Directory paths in the printed commands are shown relative to (default: process.cwd()). */
  readonly cwd?: string;
}

export interface UpPlan {
  readonly jobs: StackStep[];
  readonly services: StackStep[];
  /** onnx-serving's config.json, or null when no model is served by onnx-serving. */
  readonly servingConfig: OvmsConfig | null;
  readonly servingConfigPath: string;
  readonly modelsDir: string;
  /** What to print once everything is ready. */
  readonly banner: string;
}

export class UpPlanError extends Error {
  override readonly name = 'UpPlanError';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
  }
}

export function appMain(repoRoot: string, app: StackApp): string {
  return join(repoRoot, 'apps', app, 'dist', 'main.js');
}

interface AppRuntime {
  readonly nodeFlags?: string[];
  readonly env?: Record<string, string>;
}

function appRuntime(repoRoot: string, app: string): AppRuntime {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'apps', app, 'package.json'), 'utf8')) as { bundlegate?: AppRuntime };
  return pkg.bundlegate ?? {};
}

/** The node flags an app is run with, from its package.json `"bundlegate": {"nodeFlags": [...]}` (its Dockerfile too). */
export function appNodeFlags(repoRoot: string, app: string): string[] {
  return appRuntime(repoRoot, app).nodeFlags ?? [];
}

/**
 * Environment an app is run with, from its package.json `"bundlegate": {"env": {...}}` (its Dockerfile's
 * ENV too): process tuning such as glibc malloc settings, which must be set before the process starts.
 */
export function appEnv(repoRoot: string, app: string): Record<string, string> {
  return appRuntime(repoRoot, app).env ?? {};
}

/** Apps whose build output is missing. */
export function missingApps(repoRoot: string): StackApp[] {
  return STACK_APPS.filter((app) => !existsSync(appMain(repoRoot, app)));
}

/** Every step of the local stack for a loaded bundle; throws UpPlanError listing every problem. */
export function planUp(loaded: LoadedBundle, options: UpOptions): UpPlan {
  const { bundle, signature } = loaded;
  const { ports, repoRoot } = options;
  const routes = options.routes ?? new Map<string, string>();
  const problems: string[] = [];
  const served = bundle.models.filter((m) => m.engine === 'onnx-serving');
  for (const model of bundle.models) {
    if (model.engine !== 'onnx-serving' && !routes.has(model.id)) {
      problems.push(`model ${model.id} is served by ${model.engine}, which up cannot start: run it yourself and pass --route ${model.id}=HOST:PORT`);
    }
    if (model.engine === 'onnx-serving' && routes.has(model.id)) {
      problems.push(`model ${model.id} is served by the local onnx-serving; drop --route ${model.id}`);
    }
  }
  const known = new Set(bundle.models.map((m) => m.id));
  for (const id of routes.keys()) if (!known.has(id)) problems.push(`--route ${id}: no model ${id} in ${bundle.file}`);
  const shared = sharedServerSettings(served, problems);
  if (problems.length > 0) throw new UpPlanError(problems);

  const node = options.node ?? process.execPath;
  const env = options.env;
  const modelsDir = join(options.workDir, 'models');
  const servingConfigPath = join(options.workDir, 'onnx-serving.config.json');
  const servingConfig = served.length > 0 ? ovmsConfig(bundle, { basePathPrefix: modelsDir, engines: ['onnx-serving'] }) : null;
  // the app's declared environment under the caller's, which may override it (as `docker run -e` does ENV),
  // then what the stack itself sets for the app
  const specEnv = (app: StackApp, set: Record<string, string>) => {
    const declared = appEnv(repoRoot, app);
    return Object.keys(declared).length === 0 && Object.keys(set).length === 0 ? env : { ...declared, ...(env ?? process.env), ...set };
  };
  const spec = (app: StackApp, args: string[], set: Record<string, string> = {}) => ({
    name: app,
    command: node,
    args: [...appNodeFlags(repoRoot, app), appMain(repoRoot, app), ...args],
    cwd: repoRoot,
    env: specEnv(app, set),
  });
  const local = (port: number, path: string) => httpProbe(`http://127.0.0.1:${port}${path}`);

  const jobs: StackStep[] = [
    {
      spec: spec('model-download', ['--bundle', resolve(bundle.file), '--models-dir', modelsDir]),
      before: () => mkdir(modelsDir, { recursive: true }).then(() => undefined),
    },
  ];
  const services: StackStep[] = [];
  if (servingConfig !== null) {
    services.push({
      spec: spec('onnx-serving', ['--config_path', servingConfigPath, '--port', String(ports.servingGrpc), '--rest_port', String(ports.servingRest), ...shared.args], shared.env),
      probes: served.map((m) => local(ports.servingRest, `/v2/models/${encodeURIComponent(m.id)}/ready`)),
      before: () => writeFile(servingConfigPath, `${JSON.stringify(servingConfig, null, 2)}\n`),
    });
  }
  // onnx-serving models: gRPC and REST at the local server; others: wherever --route says (gRPC only)
  const routeArgs = bundle.models.flatMap((m) => {
    const external = routes.get(m.id);
    if (external !== undefined) return ['--route', `${m.id}=${external}`];
    return ['--route', `${m.id}=127.0.0.1:${ports.servingGrpc}`, '--rest_route', `${m.id}=127.0.0.1:${ports.servingRest}`];
  });
  services.push({
    spec: spec('gateway', [...routeArgs, '--port', String(ports.gatewayGrpc), '--rest_port', String(ports.gatewayRest)]),
    probes: [local(ports.gatewayRest, '/readyz')],
  });
  services.push({
    spec: spec('model-proxy', [
      '--signature',
      signature.file,
      '--gateway',
      `127.0.0.1:${ports.gatewayGrpc}`,
      '--http_port',
      String(ports.proxyHttp),
      '--grpc_port',
      String(ports.proxyGrpc),
    ]),
    probes: [local(ports.proxyHttp, '/readyz')],
  });

  return { jobs, services, servingConfig, servingConfigPath, modelsDir, banner: upBanner(loaded, options) };
}

/**
 * The server flags, `args` and `environment` of the onnx-serving models: `up` runs one onnx-serving for
 * all of them, so they must agree (model settings go into config.json and may differ).
 */
function sharedServerSettings(served: readonly BundleModel[], problems: string[]): { args: string[]; env: Record<string, string> } {
  const asked = served.map((m) => ({ id: m.id, args: [...onnxServingServerArgs(m.engine === 'onnx-serving' ? m.options : {}), ...(m.args ?? [])] }));
  const first = asked.find((a) => a.args.length > 0);
  for (const other of asked) {
    if (first !== undefined && other.args.join('\u0000') !== first.args.join('\u0000')) {
      problems.push(
        `models ${first.id} and ${other.id} ask onnx-serving for different server settings (${first.args.join(' ') || 'none'} vs ${other.args.join(' ') || 'none'}); up runs one onnx-serving for both: give them the same`,
      );
    }
  }
  const env: Record<string, string> = {};
  const setBy = new Map<string, string>();
  for (const model of served) {
    for (const [key, value] of Object.entries(model.environment ?? {})) {
      const earlier = setBy.get(key);
      if (earlier !== undefined && env[key] !== value) problems.push(`models ${earlier} and ${model.id} set environment ${key} differently; up runs one onnx-serving for both`);
      env[key] = value;
      setBy.set(key, model.id);
    }
  }
  return { args: first?.args ?? [], env };
}

/** The sample image for predict examples: the first JPEG of `<bundle dir>/samples`, if any. */
export function sampleImage(bundleDir: string): string | undefined {
  const dir = join(bundleDir, 'samples');
  if (!existsSync(dir)) return undefined;
  const jpeg = readdirSync(dir)
    .filter((f) => /\.jpe?g$/i.test(f))
    .sort()[0];
  return jpeg === undefined ? undefined : join(dir, jpeg);
}

function shown(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** URLs of the running stack and sample `curl` commands for its models. */
export function upBanner(loaded: LoadedBundle, options: Pick<UpOptions, 'ports' | 'routes' | 'cwd'>): string {
  const { bundle, signature } = loaded;
  const { ports } = options;
  const cwd = options.cwd ?? process.cwd();
  const proxy = `http://127.0.0.1:${ports.proxyHttp}`;
  const hasLocal = bundle.models.some((m) => m.engine === 'onnx-serving');
  const lines = [
    '',
    `Bundlegate is up: bundle ${bundle.name}, ${bundle.models.length} model${bundle.models.length === 1 ? '' : 's'}`,
    '',
    `  model-proxy    ${proxy}  (gRPC 127.0.0.1:${ports.proxyGrpc})`,
    `  gateway        gRPC 127.0.0.1:${ports.gatewayGrpc}, admin http://127.0.0.1:${ports.gatewayRest}/routes`,
  ];
  if (hasLocal) lines.push(`  onnx-serving   gRPC 127.0.0.1:${ports.servingGrpc}, REST http://127.0.0.1:${ports.servingRest}/v2/models`);
  lines.push('', 'Try:', `  curl ${proxy}/api/v1/config`);
  const image = sampleImage(bundle.dir);
  const imageArg = image === undefined ? 'IMAGE.jpg' : shown(image, cwd);
  for (const model of signature.bundles.flatMap((b) => b.models)) {
    if (model.inputs.length === 0 || !model.inputs.every((i) => i.typeId === 'Image')) continue;
    const parts = model.inputs.map((i) => `-F ${inputKey(i)}=@${imageArg}`).join(' ');
    lines.push(`  curl ${parts} ${proxy}/api/v1/models/${model.id}/predict`);
  }
  lines.push('', 'Ctrl-C stops everything.', '');
  return lines.join('\n');
}
