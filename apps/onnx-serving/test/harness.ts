import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { credentials, Metadata, type CallOptions, type Client, type ServiceError } from '@grpc/grpc-js';
import { readServingConfig, type ServingConfig } from '@bundlegate/model-runtime';
import { health, kserve, tfs } from '@bundlegate/protos';
import { createLogger, GRPC_ERROR_CODE_KEY, type Logger } from '@bundlegate/service-kit';
import { startOnnxServing, type OnnxServing } from '../src/server';

// Real servers on 127.0.0.1 port 0 over a scratch model repository holding copies of the demo models.

export const REPO_ROOT = resolve(__dirname, '../../..');
export const SAMPLES = join(REPO_ROOT, 'deploy/demo/samples');
export const ANOMALY = '6687ad3b04248f708c1e0c95';
export const CLASSIFIER = '6684168e04248f708c1e0c93';
export const CLASSES = ['authentic', 'tampered'];

export function demoModelFile(id: string): string {
  return join(REPO_ROOT, 'deploy/demo/bucket/models', id, '1', 'model.onnx');
}

export async function addVersion(base: string, version: number, id: string): Promise<void> {
  const dir = join(base, String(version));
  await mkdir(dir, { recursive: true });
  await copyFile(demoModelFile(id), join(dir, 'model.onnx'));
}

export interface LogLines {
  readonly logger: Logger;
  lines(): Record<string, unknown>[];
}

export function captureLog(): LogLines {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return {
    logger: createLogger({ service: 'onnx-serving-test', level: 'debug', destination }),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export interface ModelEntry {
  readonly name: string;
  readonly id: string;
  readonly versions: readonly number[];
  readonly config?: Record<string, unknown>;
}

export interface TestServer {
  readonly server: OnnxServing;
  readonly dir: string;
  readonly configFile: string;
  readonly grpcAddress: string;
  readonly restUrl: string;
  readonly log: LogLines;
  writeConfig(models: readonly ModelEntry[] | string): Promise<void>;
  close(): Promise<void>;
}

export function configJson(models: readonly ModelEntry[]): string {
  return JSON.stringify({ model_config_list: models.map((m) => ({ config: { name: m.name, base_path: m.name, ...m.config } })) }, null, 2);
}

/** Starts onnx-serving over `models` (copied into a scratch repository) with a config.json that tests may rewrite. */
export async function startTestServer(
  models: readonly ModelEntry[],
  options: { pollIntervalMs?: number; restMaxBodyBytes?: number; grpcMaxMessageBytes?: number } = {},
): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'onnx-serving-'));
  for (const m of models) for (const v of m.versions) await addVersion(join(dir, m.name), v, m.id);
  const configFile = join(dir, 'config.json');
  await writeFile(configFile, configJson(models));
  const { text, config }: { text: string; config: ServingConfig } = await readServingConfig(configFile, 2);
  const log = captureLog();
  const server = await startOnnxServing(
    {
      serving: config,
      configFile,
      configText: text,
      pollIntervalMs: options.pollIntervalMs ?? 0,
      grpc: { host: '127.0.0.1', port: 0, maxMessageBytes: options.grpcMaxMessageBytes ?? 100 * 1024 * 1024, flowControlWindow: 8 * 1024 * 1024 },
      rest: { host: '127.0.0.1', port: 0, maxBodyBytes: options.restMaxBodyBytes ?? 100 * 1024 * 1024 },
      cpus: 2,
    },
    { logger: log.logger },
  );
  return {
    server,
    dir,
    configFile,
    grpcAddress: `127.0.0.1:${server.grpcPort}`,
    restUrl: `http://127.0.0.1:${server.restPort}`,
    log,
    writeConfig: (m) => writeFile(configFile, typeof m === 'string' ? m : configJson(m)),
    async close() {
      await server.close(2000);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const CLIENT_OPTIONS = { 'grpc.max_receive_message_length': 100 * 1024 * 1024 };

export function clients(address: string): {
  kserve: kserve.GRPCInferenceServiceClient;
  prediction: tfs.PredictionServiceClient;
  model: tfs.ModelServiceClient;
  health: health.HealthClient;
  close(): void;
} {
  const insecure = credentials.createInsecure();
  const all = {
    kserve: new kserve.GRPCInferenceServiceClient(address, insecure, CLIENT_OPTIONS),
    prediction: new tfs.PredictionServiceClient(address, insecure, CLIENT_OPTIONS),
    model: new tfs.ModelServiceClient(address, insecure, CLIENT_OPTIONS),
    health: new health.HealthClient(address, insecure, CLIENT_OPTIONS),
  };
  return { ...all, close: () => Object.values(all).forEach((c: Client) => c.close()) };
}

/** The generated clients' widest overload (TypeScript infers from the last one). */
type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: (err: ServiceError | null, res: Res) => void,
) => unknown;

/** A unary call as a promise. */
export function call<Req, Res>(client: Client, method: UnaryMethod<Req, Res>, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(client, request, new Metadata(), {}, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export interface GrpcFailure {
  readonly code: number;
  readonly details: string;
  readonly bgCode: string | undefined;
}

/** The status of a call expected to fail. */
export async function failure(promise: Promise<unknown>): Promise<GrpcFailure> {
  try {
    await promise;
  } catch (err) {
    const e = err as ServiceError;
    const bg = e.metadata?.get(GRPC_ERROR_CODE_KEY)[0];
    return { code: e.code, details: e.details, bgCode: typeof bg === 'string' ? bg : undefined };
  }
  throw new Error('expected the call to fail');
}

export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

