import { createServer, type Server as HttpServer } from 'node:http';
import type { Server as GrpcServer } from '@grpc/grpc-js';
import type { BundleSignature } from '@bundlegate/bundle';
import {
  bindGrpc,
  closeGrpcServer,
  closeHttpServer,
  createMetrics,
  DEFAULT_GRPC_MAX_MESSAGE_BYTES,
  HealthState,
  listenHttp,
  type Logger,
  type Metrics,
} from '@bundlegate/service-kit';
import { DEFAULT_MAX_IMAGE_PIXELS } from '@bundlegate/tensors';
import type { Express } from 'express';
import type { InferenceBackend } from './backend';
import { createGrpcServer } from './grpc-server';
import { createHttpApp } from './http-app';
import { ModelCatalog } from './model-catalog';
import { buildOpenApi, type OpenApiDocument } from './openapi';
import { Predictor } from './predictor';
import { BACKEND_CHECK, modelCheck, Readiness } from './readiness';
import { RequestValidator } from './request-validator';

export interface ModelProxyOptions {
  readonly signature: BundleSignature;
  readonly backend: InferenceBackend;
  readonly logger: Logger;
  readonly metrics?: Metrics;
  readonly health?: HealthState;
  /** Deadline of each backend call. */
  readonly deadlineMs?: number;
  readonly maxBodyBytes?: number;
  readonly maxMessageBytes?: number;
  readonly maxImagePixels?: number;
  /** Readiness probe period; 0 probes only on demand (GET /api/v1/config). */
  readonly readinessIntervalMs?: number;
}

export interface ListenOptions {
  readonly host: string;
  /** 0 binds a free port; the bound ports come back. */
  readonly httpPort: number;
  readonly grpcPort: number;
}

export interface ModelProxy {
  readonly catalog: ModelCatalog;
  readonly openapi: OpenApiDocument;
  readonly health: HealthState;
  readonly readiness: Readiness;
  readonly predictor: Predictor;
  /** The HTTP app, usable without a socket. */
  readonly app: Express;
  readonly grpcServer: GrpcServer;
  listen(options: ListenOptions): Promise<{ httpPort: number; grpcPort: number }>;
  /** Stop accepting, let in-flight calls finish (cut after `graceMs`), then close the backend. */
  close(graceMs?: number): Promise<void>;
}


/** Wires the proxy from a loaded signature and a backend; nothing listens until `listen()`. */
export function createModelProxy(options: ModelProxyOptions): ModelProxy {
  const { signature, backend, logger } = options;
  const metrics = options.metrics ?? createMetrics({ service: 'model-proxy' });
  const catalog = new ModelCatalog(signature, { maxImagePixels: options.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS });
  const health = options.health ?? new HealthState({ checks: [BACKEND_CHECK, ...catalog.models.map((m) => modelCheck(m.id))] });
  const openapi = buildOpenApi(catalog);
  const validator = new RequestValidator(openapi, catalog);
  const stage = metrics.histogram({
    name: 'model_proxy_stage_duration_seconds',
    help: 'Time per prediction stage (preprocess, backend, postprocess) by model.',
    labelNames: ['model', 'stage'],
  });
  const predictor = new Predictor({
    backend,
    deadlineMs: options.deadlineMs ?? 30_000,
    observe: (model, name, ms) => stage.observe({ model, stage: name }, ms / 1000),
  });
  const readiness = new Readiness({ backend, catalog, health, logger: logger.child({ module: 'readiness' }), probeTimeoutMs: 2_000, maxAgeMs: 1_000 });
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_GRPC_MAX_MESSAGE_BYTES;
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_GRPC_MAX_MESSAGE_BYTES;
  const common = { catalog, predictor, readiness, backendKind: backend.kind, health, metrics, logger };
  const app = createHttpApp({ ...common, validator, openapi, maxBodyBytes });
  const grpcServer = createGrpcServer({ ...common, maxMessageBytes });
  let httpServer: HttpServer | undefined;

  return {
    catalog,
    openapi,
    health,
    readiness,
    predictor,
    app,
    grpcServer,
    async listen(listenOptions) {
      httpServer = createServer(app);
      // clients keep connections open across predictions; longer than the usual 60 s idle of load balancers
      httpServer.keepAliveTimeout = 65_000;
      const httpPort = await listenHttp(httpServer, listenOptions.host, listenOptions.httpPort);
      const grpcPort = await bindGrpc(grpcServer, listenOptions.host, listenOptions.grpcPort);
      if (options.readinessIntervalMs !== 0) readiness.start(options.readinessIntervalMs ?? 2_000);
      logger.info({ httpPort, grpcPort, models: catalog.models.length, backend: backend.kind }, 'model proxy listening');
      return { httpPort, grpcPort };
    },
    async close(graceMs = 10_000) {
      health.markShuttingDown();
      readiness.stop();
      await Promise.all([httpServer === undefined ? undefined : closeHttpServer(httpServer, graceMs), closeGrpcServer(grpcServer, graceMs)]);
      await backend.close();
    },
  };
}
