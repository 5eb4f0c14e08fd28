import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import { ModelManager, startPolling, type ModelOpener, type ModelStatus, type Poller, type ServingConfig } from '@bundlegate/model-runtime';
import {
  bindGrpc,
  closeGrpcServer,
  closeHttpServer,
  createMetrics,
  HealthState,
  listenHttp,
  type Logger,
  type Metrics,
} from '@bundlegate/service-kit';
import { createGrpcServer, modelCheck } from './grpc-server';
import { raiseConnectionWindow } from './http2-window';
import { createRestHandler } from './rest';
import type { ServingContext } from './serving-context';
import { createServingMetrics } from './serving-metrics';

// onnx-serving assembled: model manager + poller, the gRPC and REST listeners, health and metrics.

export interface Listen {
  readonly host: string;
  /** 0 picks a free port (read it back from the result). */
  readonly port: number;
}

export interface OnnxServingOptions {
  /** The models to serve at start. */
  readonly serving: ServingConfig;
  /** config.json to watch (with `configText`, the text `serving` came from). */
  readonly configFile?: string;
  readonly configText?: string;
  /** `--file_system_poll_wait_seconds` in ms; 0 turns polling off. */
  readonly pollIntervalMs: number;
  /** `flowControlWindow`: HTTP/2 receive window in bytes (0 = HTTP/2's 64 KiB). */
  readonly grpc: Listen & { readonly maxMessageBytes: number; readonly flowControlWindow: number };
  readonly rest: Listen & { readonly maxBodyBytes: number };
  readonly maxImagePixels?: number;
  /** Cores to size sessions for when config.json is re-read. */
  readonly cpus?: number;
}

export interface OnnxServingDeps {
  readonly logger: Logger;
  /** Model loader (default onnxruntime via worker threads or inline, per model settings). */
  readonly open?: ModelOpener;
}

export interface OnnxServing {
  readonly grpcPort: number;
  readonly restPort: number;
  readonly manager: ModelManager;
  readonly health: HealthState;
  readonly metrics: Metrics;
  readonly poller: Poller;
  /** Stop accepting, let requests in flight finish (cut after `graceMs`), then unload every model. */
  close(graceMs?: number): Promise<void>;
}

/** Readiness check that passes once the models of the start config have been loaded (or failed to). */
export const STARTUP_CHECK = 'startup';

function trackModels(health: HealthState, models: readonly ModelStatus[], known: Set<string>): void {
  const now = new Set(models.map((m) => m.name));
  for (const name of known) if (!now.has(name)) health.removeCheck(modelCheck(name));
  known.clear();
  for (const m of models) {
    known.add(m.name);
    const available = m.versions.some((v) => v.state === 'AVAILABLE');
    const loading = m.versions.some((v) => v.state === 'LOADING');
    health.setReady(modelCheck(m.name), available, available ? undefined : loading ? 'loading' : 'no version is loaded');
  }
}

export async function startOnnxServing(options: OnnxServingOptions, deps: OnnxServingDeps): Promise<OnnxServing> {
  const { logger } = deps;
  const health = new HealthState({ checks: [STARTUP_CHECK] });
  const metrics = createMetrics({ service: 'onnx-serving' });
  const manager = new ModelManager({ logger: logger.child({ module: 'models' }), open: deps.open, maxImagePixels: options.maxImagePixels });
  const tracked = new Set<string>();
  manager.onChange((models) => trackModels(health, models, tracked));
  const ctx: ServingContext = { manager, health, metrics: createServingMetrics(metrics), logger: logger.child({ module: 'requests' }) };

  const grpcServer: GrpcServer = createGrpcServer(ctx, { maxMessageBytes: options.grpc.maxMessageBytes, flowControlWindow: options.grpc.flowControlWindow });
  const httpServer: HttpServer = createHttpServer({ keepAliveTimeout: 65_000 }, createRestHandler(ctx, { maxBodyBytes: options.rest.maxBodyBytes, metrics }));
  let grpcPort: number;
  let restPort: number;
  try {
    grpcPort = await bindGrpc(grpcServer, options.grpc.host, options.grpc.port);
    if (options.grpc.flowControlWindow > 0) raiseConnectionWindow(grpcServer, options.grpc.flowControlWindow);
    restPort = await listenHttp(httpServer, options.rest.host, options.rest.port);
  } catch (err) {
    grpcServer.forceShutdown();
    httpServer.close();
    throw err;
  }
  logger.info({ grpcPort, restPort, grpcHost: options.grpc.host, restHost: options.rest.host }, 'listening');

  for (const warning of options.serving.warnings) logger.warn(warning);
  await manager.apply(options.serving);
  health.setReady(STARTUP_CHECK, true);
  const poller = startPolling({
    manager,
    logger: logger.child({ module: 'poller' }),
    intervalMs: options.pollIntervalMs,
    configFile: options.configFile,
    appliedText: options.configText,
    context: { cpus: options.cpus },
  });
  logger.info({ models: manager.statuses().map((m) => ({ name: m.name, versions: m.versions.map((v) => `${v.version}:${v.state}`) })) }, 'serving');

  let closing: Promise<void> | undefined;
  return {
    grpcPort,
    restPort,
    manager,
    health,
    metrics,
    poller,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        health.markShuttingDown();
        await poller.stop();
        await Promise.all([closeGrpcServer(grpcServer, graceMs), closeHttpServer(httpServer, graceMs)]);
        await manager.close();
      })();
      return closing;
    },
  };
}
