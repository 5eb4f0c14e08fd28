import { Server, type ServerWritableStream } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { ModelStatus } from '@bundlegate/model-runtime';
import { health as healthPb, packageDefinition, serviceNames, tfs } from '@bundlegate/protos';
import { createGrpcHealth, grpcMessageLimits, type GrpcHealth, type HealthState } from '@bundlegate/service-kit';
import { kserveService } from './grpc-kserve';
import { tolerantService } from './grpc-malformed';
import { raiseStreamWindow } from './http2-window';
import { modelService, predictionService } from './grpc-tfs';
import { kserveServiceDefinition } from './kserve-wire';
import type { ServingContext } from './serving-context';

// The gRPC listener: KServe v2, TF Serving, grpc.health.v1 (overall and per model) and server reflection.

/** Readiness check name of one model: ready while it has an AVAILABLE version. */
export const modelCheck = (name: string): string => `model:${name}`;

/**
 * grpc.health.v1 over the HealthState, answering for "" (the whole server) and for each model name. The
 * model set changes with config.json, while service-kit's health service takes its names once: keep one
 * per model set and delegate to the current one.
 */
class ModelHealth {
  private current: GrpcHealth;
  private names = '';

  constructor(private readonly health: HealthState) {
    this.current = createGrpcHealth(health);
  }

  update(models: readonly ModelStatus[]): void {
    const names = models.map((m) => m.name).join('\n');
    if (names === this.names) return;
    this.names = names;
    this.current = createGrpcHealth(this.health, { services: Object.fromEntries(models.map((m) => [m.name, [modelCheck(m.name)]])) });
  }

  readonly implementation: healthPb.HealthServer = {
    check: (call, callback) => this.current.implementation.check(call, callback),
    watch: (call: ServerWritableStream<healthPb.HealthCheckRequest, healthPb.HealthCheckResponse>) => this.current.implementation.watch(call),
  };
}

export interface GrpcServerOptions {
  /** Largest message received or sent, in bytes. */
  readonly maxMessageBytes: number;
  /** HTTP/2 receive window per stream and per connection, in bytes; 0 keeps HTTP/2's 64 KiB. */
  readonly flowControlWindow: number;
}

export function createGrpcServer(ctx: ServingContext, options: GrpcServerOptions): Server {
  const server = new Server({ ...grpcMessageLimits(options.maxMessageBytes) });
  if (options.flowControlWindow > 0) raiseStreamWindow(server, options.flowControlWindow);
  server.addService(tolerantService(kserveServiceDefinition), kserveService(ctx));
  server.addService(tolerantService(tfs.PredictionServiceService), predictionService(ctx));
  server.addService(tolerantService(tfs.ModelServiceService), modelService(ctx));
  const health = new ModelHealth(ctx.health);
  health.update(ctx.manager.statuses());
  ctx.manager.onChange((models) => health.update(models));
  server.addService(healthPb.HealthService, health.implementation);
  const reflection = new ReflectionService(packageDefinition(), {
    services: [serviceNames.kserve, serviceNames.tfsPrediction, serviceNames.tfsModel, serviceNames.health],
  });
  reflection.addToServer(server);
  return server;
}
