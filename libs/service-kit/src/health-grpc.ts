import { status as GrpcStatus, type Server, type ServerWritableStream } from '@grpc/grpc-js';
import { health as healthPb } from '@bundlegate/protos';
import type { HealthState } from './health';

// grpc.health.v1.Health (https://github.com/grpc/grpc/blob/master/doc/health-checking.md) on a HealthState.

const ServingStatus = healthPb.HealthCheckResponse_ServingStatus;
type ServingStatus = healthPb.HealthCheckResponse_ServingStatus;

export interface GrpcHealthOptions {
  /**
   * Service names clients may ask about, each with the readiness checks it depends on
   * (`'all'` = every check). The overall server, `""`, always means every check.
   */
  readonly services?: Readonly<Record<string, readonly string[] | 'all'>>;
}

export interface GrpcHealth {
  readonly definition: typeof healthPb.HealthService;
  readonly implementation: healthPb.HealthServer;
}

/** The Health service implementation driven by `health`: Check, and Watch streaming every change. */
export function createGrpcHealth(health: HealthState, options: GrpcHealthOptions = {}): GrpcHealth {
  const services = new Map<string, readonly string[] | 'all'>([['', 'all'], ...Object.entries(options.services ?? {})]);

  const statusOf = (service: string): ServingStatus => {
    const deps = services.get(service);
    if (deps === undefined) return ServingStatus.SERVICE_UNKNOWN;
    return health.isReady(deps === 'all' ? undefined : deps) ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  };

  const implementation: healthPb.HealthServer = {
    check(call, callback) {
      const s = statusOf(call.request.service);
      if (s === ServingStatus.SERVICE_UNKNOWN) {
        callback({ code: GrpcStatus.NOT_FOUND, details: `unknown service ${JSON.stringify(call.request.service)}` });
        return;
      }
      callback(null, { status: s });
    },

    watch(call: ServerWritableStream<healthPb.HealthCheckRequest, healthPb.HealthCheckResponse>) {
      const service = call.request.service;
      let last: ServingStatus | undefined;
      const push = (): void => {
        const s = statusOf(service);
        if (s !== last) {
          last = s;
          call.write({ status: s });
        }
        // a stream left open would keep the server's graceful shutdown waiting forever
        if (health.shuttingDown) finish();
      };
      const unsubscribe = health.onChange(push);
      const finish = (): void => {
        unsubscribe();
        if (!call.writableEnded) call.end();
      };
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
      push();
    },
  };
  return { definition: healthPb.HealthService, implementation };
}

/** Register grpc.health.v1.Health on `server`. */
export function addGrpcHealth(server: Server, health: HealthState, options: GrpcHealthOptions = {}): void {
  const { definition, implementation } = createGrpcHealth(health, options);
  server.addService(definition, implementation);
}
