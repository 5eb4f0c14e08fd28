import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { createServer, type Server } from 'node:http';
import express from 'express';
import {
  closeHttpServer,
  createAdminHandler,
  createMetrics,
  HealthState,
  listenHttp,
  requestId,
  type Logger,
  type Metrics,
} from '@bundlegate/service-kit';
import type { ClusterDeps, LookupAll } from './cluster';
import type { GatewayConfig } from './config';
import type { CallContext } from './grpc-call';
import { GrpcListener, type RouterState } from './grpc-listener';
import { GatewayMetrics } from './metrics';
import { createRestApp, mountAdmin } from './rest';
import { loadBundleRoutes, loadRoutesFile, parseRouteFlags, type RouteSpec } from './route-config';
import { compileRoutes, RouteTable } from './route-table';

export interface GatewayDeps {
  readonly logger: Logger;
  /** The service's metrics registry (made here when absent). */
  readonly metrics?: Metrics;
  /** Readiness shared with the shutdown handler (made here when absent). */
  readonly health?: HealthState;
  /** Resolver for endpoint host names (tests inject one); the system's by default. */
  readonly lookup?: LookupAll;
}

export interface BoundPorts {
  readonly grpc: number;
  readonly rest: number;
  /** Equal to `rest` when the admin endpoints share the REST port. */
  readonly admin: number;
}

export interface Gateway {
  listen(): Promise<BoundPorts>;
  /** GOAWAY to clients, finish calls in flight (up to the drain timeout), close upstream sessions. */
  close(): Promise<void>;
  /** Re-reads the route source; false (old table kept) when it is invalid. */
  reload(): Promise<boolean>;
  /** Replaces the routes with these (tests; reload from a source does the same). */
  setRoutes(routes: readonly RouteSpec[]): void;
  /** One health-check round on every cluster, awaited. */
  checkHealth(): Promise<void>;
  readonly table: RouteTable;
  readonly health: HealthState;
  readonly metrics: Metrics;
  readonly gatewayMetrics: GatewayMetrics;
  readiness(): { ready: boolean; reasons: string[] };
}

const READY_CHECK = 'routes';

/** Reads the route definitions the config points at (throws BG_CONFIG_INVALID / BG_BUNDLE_INVALID). */
export function readRouteSource(config: GatewayConfig): RouteSpec[] {
  const s = config.source;
  if (s.kind === 'file') return loadRoutesFile(s.path, config.clusterDefaults);
  if (s.kind === 'bundle') return loadBundleRoutes(s.path, config.clusterDefaults, s.host);
  const parsed = parseRouteFlags(s.routes, s.restRoutes, config.clusterDefaults);
  if (parsed.problems.length > 0) throw new Error(parsed.problems.join('; '));
  return parsed.routes;
}

/** Builds the gateway without binding anything; `listen()` binds. */
export function createGateway(config: GatewayConfig, deps: GatewayDeps): Gateway {
  const logger = deps.logger;
  const metrics = deps.metrics ?? createMetrics({ service: 'gateway' });
  const health = deps.health ?? new HealthState({ checks: [READY_CHECK] });
  let table = new RouteTable([]);
  let draining = false;
  const gatewayMetrics = new GatewayMetrics(metrics.registry, () =>
    table.routes.map((r) => ({ modelId: r.modelId, endpoints: r.cluster.endpoints })),
  );

  const readiness = (): { ready: boolean; reasons: string[] } => {
    const reasons: string[] = [];
    if (draining) return { ready: false, reasons: ['shutting down'] };
    if (table.routes.length === 0) return { ready: false, reasons: ['no routes'] };
    if (config.readyPolicy === 'always') return { ready: true, reasons };
    let healthy = 0;
    for (const r of table.routes) {
      if (r.cluster.hasHealthyEndpoint()) healthy++;
      else reasons.push(`model ${r.modelId}: no healthy endpoint`);
    }
    const ready = config.readyPolicy === 'all' ? healthy === table.routes.length : healthy > 0;
    return { ready, reasons };
  };
  const updateReady = (): void => {
    const r = readiness();
    health.setReady(READY_CHECK, r.ready, r.reasons.join('; ') || undefined);
  };

  const clusterDeps: ClusterDeps = {
    poolOptions: config.pool,
    dnsRefreshMs: config.dnsRefreshMs,
    ...(deps.lookup !== undefined ? { lookup: deps.lookup } : {}),
    logger: logger.child({ module: 'cluster' }),
    onEject: (cluster, endpoint) => gatewayMetrics.ejections.inc({ model_id: cluster.modelId, endpoint: endpoint.address }),
    onHealthChange: () => updateReady(),
  };

  const state: RouterState = {
    get table() {
      return table;
    },
    get draining() {
      return draining;
    },
    readiness,
  };

  const setRoutes = (routes: readonly RouteSpec[]): void => {
    const { table: next, created, retired } = compileRoutes(routes, clusterDeps, table);
    for (const c of created) c.start();
    table = next;
    // calls in flight on retired clusters finish on their sessions; new calls use the new table
    for (const c of retired) c.close();
    updateReady();
    logger.info({ routes: table.routes.length, created: created.length, retired: retired.length }, `routes:\n${table.toString()}`);
  };

  const reload = async (): Promise<boolean> => {
    try {
      setRoutes(readRouteSource(config));
      gatewayMetrics.reloads.inc({ result: 'ok' });
      return true;
    } catch (err) {
      gatewayMetrics.reloads.inc({ result: 'error' });
      logger.error({ err }, 'route reload failed; keeping the previous routes');
      return false;
    }
  };

  const ctx: CallContext = {
    metrics: gatewayMetrics,
    logger: logger.child({ module: 'grpc' }),
    retryBufferBytes: config.retryBufferBytes,
    nextRequestId: () => requestId(),
  };
  const grpc = new GrpcListener(state, ctx, config.listener);
  const admin = createAdminHandler({ health, metrics });
  const separateAdmin = config.adminPort !== undefined;
  const restApp = createRestApp({ state, metrics: gatewayMetrics, logger: logger.child({ module: 'rest' }), admin: separateAdmin ? undefined : admin });
  const restServer: Server = createServer(restApp);
  let adminServer: Server | undefined;
  if (separateAdmin) {
    const adminApp = express();
    adminApp.disable('x-powered-by');
    mountAdmin(adminApp, state, admin);
    adminServer = createServer(adminApp);
  }

  const watched = config.source.kind === 'flags' ? undefined : config.source.path;
  const onFileChange = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs === prev.mtimeMs && curr.size === prev.size && curr.ino === prev.ino) return;
    logger.info({ file: watched }, 'route source changed; reloading');
    void reload();
  };

  const initial = readRouteSource(config);
  setRoutes(initial);

  return {
    async listen() {
      const grpcPort = await grpc.listen(config.port, config.host);
      const restPort = await listenHttp(restServer, config.host, config.restPort);
      const adminPort = adminServer ? await listenHttp(adminServer, config.host, config.adminPort as number) : restPort;
      if (watched !== undefined && config.reloadIntervalMs > 0) watchFile(watched, { interval: config.reloadIntervalMs, persistent: false }, onFileChange);
      logger.info({ grpcPort, restPort, adminPort, tls: config.listener.tls !== undefined }, 'gateway listening');
      return { grpc: grpcPort, rest: restPort, admin: adminPort };
    },
    async close() {
      draining = true;
      health.markShuttingDown();
      if (watched !== undefined) unwatchFile(watched, onFileChange);
      await Promise.all([
        grpc.close(config.drainTimeoutMs),
        closeHttpServer(restServer, config.drainTimeoutMs),
        adminServer ? closeHttpServer(adminServer, config.drainTimeoutMs) : undefined,
      ]);
      for (const c of table.clusters) c.close();
    },
    reload,
    setRoutes,
    async checkHealth() {
      await Promise.all(table.clusters.map((c) => c.healthChecker?.round()));
      updateReady();
    },
    get table() {
      return table;
    },
    health,
    metrics,
    gatewayMetrics,
    readiness,
  };
}
