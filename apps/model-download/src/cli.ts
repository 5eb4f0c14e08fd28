import { parseBundle, parseSourceUri, SourceUriError, type SourceUri } from '@bundlegate/bundle';
import { configOrExit, createLogger, describeConfig, isBgError, type Logger } from '@bundlegate/service-kit';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  deploymentEnvFiles,
  downloadSpec,
  encryptSpec,
  envView,
  preScanDeploymentDir,
  validateDownloadConfig,
  type DownloadConfig,
} from './config';
import { encryptModelFile, parseModelKey, readModelKeyFile } from '@bundlegate/model-crypto';
import { createBarsProgress, createLogProgress, silentProgress, type ProgressSink } from './progress';
import { BackendCache } from './source';
import { s3SettingsFromEnv } from './storage-s3';
import { describeFailure, syncModels, type ModelSource, type SyncSummary } from './sync';

export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const exitWith = (code: number): never => {
  throw new Exit(code);
};

/** `model-download [sync flags]` or `model-download encrypt-model --key FILE IN OUT`; resolves to the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    if (argv[0] === 'encrypt-model') return await runEncrypt(argv.slice(1), io);
    return await runSync(argv, io);
  } catch (err) {
    if (err instanceof Exit) return err.code;
    throw err;
  }
}

async function runEncrypt(argv: readonly string[], io: CliIo): Promise<number> {
  const c = configOrExit(encryptSpec, {
    name: 'model-download encrypt-model',
    summary: 'Encrypts a model file into the .enc format model-download decrypts (BGENC1 ‖ IV ‖ AES-256-GCM ‖ tag).',
    argv,
    env: io.env,
    cwd: io.cwd,
    stdout: io.stdout,
    stderr: io.stderr,
    exit: exitWith,
  });
  try {
    const key = await readModelKeyFile(c.key);
    await encryptModelFile(key, resolve(io.cwd, c.input), resolve(io.cwd, c.output));
  } catch (err) {
    io.stderr.write(`model-download encrypt-model: ${isBgError(err) ? `${err.code}: ${err.message}` : (err as Error).message}\n`);
    return 1;
  }
  return 0;
}

async function runSync(argv: readonly string[], io: CliIo): Promise<number> {
  const deploymentDir = preScanDeploymentDir(argv, io.env, io.cwd);
  const c = configOrExit(downloadSpec, {
    name: 'model-download',
    summary: "Syncs the bundle's models from gs://, s3:// or file:// into <models-dir>/<id>/<version>/, then exits (0: all in sync).",
    argv,
    env: io.env,
    cwd: io.cwd,
    envFiles: deploymentEnvFiles(deploymentDir),
    validate: validateDownloadConfig,
    stdout: io.stdout,
    stderr: io.stderr,
    exit: exitWith,
  });
  const logger = createLogger({ service: 'model-download', level: c.logLevel, pretty: c.logPretty });
  logger.info({ config: describeConfig(c, downloadSpec) }, 'starting');

  let sources: ModelSource[];
  let decryptionKey: Buffer | undefined;
  const backends = new BackendCache({
    s3: s3SettingsFromEnv(envView(c), {
      ...(c.s3Endpoint !== undefined ? { endpoint: c.s3Endpoint } : {}),
      ...(c.s3Region !== undefined ? { region: c.s3Region } : {}),
      ...(c.s3PathStyle !== 'auto' ? { pathStyle: c.s3PathStyle === 'true' } : {}),
    }),
    gcs: gcsSettings(c),
    maxSockets: Math.max(64, c.concurrency * 2),
  });
  try {
    sources = await modelSources(c, backends, io.cwd);
    decryptionKey = await loadDecryptionKey(c);
  } catch (err) {
    const message = isBgError(err) ? `${err.code}: ${err.message}` : (err as Error).message;
    logger.error({ err: isBgError(err) ? err.toJSON() : { message } }, 'cannot start');
    io.stderr.write(`model-download: ${message}\n`);
    await backends.closeAll();
    return 2;
  }

  const progress = pickProgress(c.progress, io, logger);
  let summary: SyncSummary;
  try {
    summary = await syncModels(sources, {
      modelsDir: c.modelsDir,
      concurrency: c.concurrency,
      prune: c.prune,
      rangeThreshold: c.rangeThreshold,
      rangeSize: c.rangeSize,
      retries: c.retries,
      ...(decryptionKey !== undefined ? { decryptionKey } : {}),
      logger,
      progress,
    });
  } finally {
    progress.stop();
    await backends.closeAll();
  }
  report(summary, logger, io, progress !== silentProgress && c.progress !== 'log' && io.stderr.isTTY === true);
  return summary.failed.length === 0 ? 0 : 1;
}

function gcsSettings(c: DownloadConfig) {
  const deploymentKey = c.deploymentDir !== undefined ? resolve(c.deploymentDir, 'creds', 'bundle', 'gcs.json') : undefined;
  const keyFilename = deploymentKey !== undefined && existsSync(deploymentKey) ? deploymentKey : c.googleApplicationCredentials;
  return {
    ...(keyFilename !== undefined ? { keyFilename } : {}),
    ...(c.storageEmulatorHost !== undefined ? { apiEndpoint: c.storageEmulatorHost } : {}),
    ...(c.gcsProjectId !== undefined ? { projectId: c.gcsProjectId } : {}),
  };
}

/** --decryption-key-file, then MODEL_DECRYPTION_KEY, then `<deployment>/creds/bundle/model.key`. */
async function loadDecryptionKey(c: DownloadConfig): Promise<Buffer | undefined> {
  if (c.decryptionKeyFile !== undefined) return readModelKeyFile(c.decryptionKeyFile);
  if (c.decryptionKey !== undefined) return parseModelKey(c.decryptionKey, 'MODEL_DECRYPTION_KEY');
  if (c.deploymentDir !== undefined) {
    const path = resolve(c.deploymentDir, 'creds', 'bundle', 'model.key');
    if (existsSync(path)) return readModelKeyFile(path);
  }
  return undefined;
}

async function modelSources(c: DownloadConfig, backends: BackendCache, cwd: string): Promise<ModelSource[]> {
  if (c.source !== undefined) {
    let uri: SourceUri;
    try {
      uri = parseSourceUri(c.source, { baseDir: cwd });
    } catch (err) {
      if (err instanceof SourceUriError) throw new Error(`--source: ${err.message}`);
      throw err;
    }
    return [...new Set(c.models)].map((modelId) => ({ modelId, backend: backends.get(uri) }));
  }
  const path = c.bundle as string;
  const bundle = parseBundle(await readFile(path, 'utf8'), path);
  const wanted = new Set(c.models);
  const unknown = [...wanted].filter((id) => !bundle.models.some((m) => m.id === id));
  if (unknown.length > 0) throw new Error(`--model ${unknown.join(', ')}: not in ${path} (models: ${bundle.models.map((m) => m.id).join(', ')})`);
  return bundle.models
    .filter((m) => wanted.size === 0 || wanted.has(m.id))
    .map((m) => ({
      modelId: m.id,
      backend: backends.get(m.source),
      encrypted: m.encrypted,
      ...(m.version !== null ? { version: String(m.version) } : {}),
    }));
}

function pickProgress(mode: DownloadConfig['progress'], io: CliIo, logger: Logger): ProgressSink {
  if (mode === 'none') return silentProgress;
  if (mode === 'bars' || (mode === 'auto' && io.stderr.isTTY === true)) return createBarsProgress(io.stderr as NodeJS.WriteStream);
  return createLogProgress(logger);
}

function report(s: SyncSummary, logger: Logger, io: CliIo, human: boolean): void {
  const summary = {
    models: s.models.length,
    failedModels: s.failed.map((r) => r.modelId),
    files: s.fetched,
    bytes: s.bytes,
    skipped: s.skipped,
    removed: s.removed,
    seconds: Number((s.elapsedMs / 1000).toFixed(2)),
    mbPerSec: s.mbPerSec,
    unverified: s.models.reduce((a, r) => a + r.unverified.length, 0),
  };
  logger.info({ summary }, 'summary');
  for (const r of s.failed) io.stderr.write(`model-download: ${describeFailure(r)}\n`);
  if (human) {
    io.stderr.write(
      `model-download: ${s.models.length - s.failed.length}/${s.models.length} models in sync: ${s.fetched} files (${(s.bytes / 1e6).toFixed(1)} MB) fetched, ${s.skipped} skipped, ${s.removed} removed in ${summary.seconds}s (${s.mbPerSec} MB/s)\n`,
    );
  }
}

