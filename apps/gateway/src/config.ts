import { readFileSync } from 'node:fs';
import { bool, bytes, duration, filePath, int, list, loggingSpec, oneOf, string, type ConfigOf } from '@bundlegate/service-kit';
import { DEFAULT_POOL_OPTIONS, type PoolOptions } from './connection-pool';
import type { GrpcListenerOptions } from './grpc-listener';
import { MIN_READ_ARENA } from './socket-reads';
import {
  DEFAULT_CLUSTER_OPTIONS,
  HEALTH_CHECK_KINDS,
  LB_POLICIES,
  parseEndpoint,
  parseRouteFlags,
  type ClusterOptions,
} from './route-config';

// Every gateway setting: one flag and one GATEWAY_* variable each (README lists them all).

const D = DEFAULT_CLUSTER_OPTIONS;
const P = DEFAULT_POOL_OPTIONS;

function routeItem(raw: string): string {
  const eq = raw.indexOf('=');
  const endpoints = eq > 0 ? raw.slice(eq + 1).split(',') : [];
  if (endpoints.length === 0 || endpoints.some((e) => parseEndpoint(e.trim()) === undefined)) {
    throw new Error('expected ID=HOST:PORT[,HOST:PORT…]');
  }
  return raw;
}

export const READY_POLICIES = ['all', 'any', 'always'] as const;
export type ReadyPolicy = (typeof READY_POLICIES)[number];

export const gatewayConfigSpec = {
  // ---- where routes come from (exactly one)
  routes: filePath({ flag: 'routes', env: 'GATEWAY_ROUTES', mustExist: 'file', help: 'routes.yaml (format in the README); reloaded on change.' }),
  bundle: filePath({ flag: 'bundle', env: 'GATEWAY_BUNDLE', mustExist: 'file', help: 'bundle.yaml: one route per model at s<id>s; reloaded on change.' }),
  bundleHost: string({ flag: 'bundle_host', env: 'GATEWAY_BUNDLE_HOST', help: 'With --bundle: one host for every model instead of s<id>s (local runs).' }),
  route: list({ flag: 'route', env: 'GATEWAY_ROUTE', separator: ';', item: routeItem, help: 'ID=HOST:PORT[,HOST:PORT…], repeatable (env: ";"-separated).' }),
  restRoute: list({ flag: 'rest_route', env: 'GATEWAY_REST_ROUTE', separator: ';', item: routeItem, help: 'ID=HOST:PORT[,…]: REST endpoints of a --route model.' }),
  reloadInterval: duration({ flag: 'reload_interval', env: 'GATEWAY_RELOAD_INTERVAL', default: '2s', help: 'How often the routes/bundle file is checked for changes; 0 = never.' }),
  dnsRefresh: duration({
    flag: 'dns_refresh',
    env: 'GATEWAY_DNS_REFRESH',
    default: '5s',
    help: 'How often endpoint host names are resolved; each address becomes an endpoint (replicas behind one name). 0 = dial names as they are.',
  }),

  // ---- listeners
  host: string({ flag: 'host', env: 'GATEWAY_HOST', default: '0.0.0.0', help: 'Address to listen on.' }),
  port: int({ flag: 'port', env: 'GATEWAY_GRPC_PORT', default: 8080, min: 0, max: 65535, help: 'gRPC (h2c, or TLS with --tls_cert) port.' }),
  restPort: int({ flag: 'rest_port', env: 'GATEWAY_REST_PORT', default: 8081, min: 0, max: 65535, help: 'REST port; also serves /healthz /readyz /metrics /routes.' }),
  adminPort: int({ flag: 'admin_port', env: 'GATEWAY_ADMIN_PORT', min: 0, max: 65535, help: 'Serve the admin endpoints on their own port instead.' }),
  tlsCert: filePath({ flag: 'tls_cert', env: 'GATEWAY_TLS_CERT', mustExist: 'file', help: 'PEM certificate: the gRPC listener speaks TLS.' }),
  tlsKey: filePath({ flag: 'tls_key', env: 'GATEWAY_TLS_KEY', mustExist: 'file', help: 'PEM private key of --tls_cert.' }),
  tlsClientCa: filePath({ flag: 'tls_client_ca', env: 'GATEWAY_TLS_CLIENT_CA', mustExist: 'file', help: 'Require client certificates signed by this CA (mTLS).' }),
  streamWindow: bytes({ flag: 'stream_window', env: 'GATEWAY_STREAM_WINDOW', default: P.streamWindow, min: 65535, max: 2 ** 31 - 1, help: 'HTTP/2 per-stream receive window, both sides.' }),
  connectionWindow: bytes({ flag: 'connection_window', env: 'GATEWAY_CONNECTION_WINDOW', default: P.connectionWindow, min: 65535, max: 2 ** 31 - 1, help: 'HTTP/2 per-connection receive window, both sides.' }),
  readArena: bytes({ flag: 'read_arena', env: 'GATEWAY_READ_ARENA', default: '256KiB', help: 'Plain-TCP socket reads land in per-connection arenas of this size (at least 64KiB; each idle connection holds one); 0 = a new 64 KiB buffer per read, node\'s default.' }),
  maxFrameSize: bytes({ flag: 'max_frame_size', env: 'GATEWAY_MAX_FRAME_SIZE', default: P.maxFrameSize, min: 16384, max: 2 ** 24 - 1, help: 'Largest HTTP/2 frame accepted, both sides.' }),
  maxConcurrentStreams: int({ flag: 'max_concurrent_streams', env: 'GATEWAY_MAX_CONCURRENT_STREAMS', default: 1000, min: 1, max: 2 ** 31 - 1, help: 'Streams per client connection.' }),
  maxHeaderListSize: bytes({ flag: 'max_header_list_size', env: 'GATEWAY_MAX_HEADER_LIST_SIZE', default: P.maxHeaderListSize, min: 4096, max: 16 * 1024 * 1024, help: 'Largest header block accepted, both sides.' }),
  sniffModelName: bool({ flag: 'sniff_model_name', env: 'GATEWAY_SNIFF_MODEL_NAME', help: 'Route ModelInfer/Predict calls without model-id by the model name in their first bytes.' }),
  readyPolicy: oneOf({ flag: 'ready_policy', env: 'GATEWAY_READY_POLICY', values: READY_POLICIES, default: 'all', help: 'Ready when all routes / any route has a healthy endpoint, or always.' }),
  drainTimeout: duration({ flag: 'drain_timeout', env: 'GATEWAY_DRAIN_TIMEOUT', default: '30s', help: 'On SIGTERM, how long calls in flight may finish.' }),

  // ---- clusters (defaults for every route; routes.yaml may override per route)
  lbPolicy: oneOf({ flag: 'lb_policy', env: 'GATEWAY_LB_POLICY', values: LB_POLICIES, default: D.lbPolicy, help: 'Balancing across a model\'s endpoints.' }),
  healthCheck: oneOf({ flag: 'health_check', env: 'GATEWAY_HEALTH_CHECK', values: HEALTH_CHECK_KINDS, default: D.healthCheck.kind, help: 'Active checks: grpc.health.v1, KServe ModelReady, or none (bundle routes pick per engine).' }),
  healthCheckService: string({ flag: 'health_check_service', env: 'GATEWAY_HEALTH_CHECK_SERVICE', default: '', help: 'grpc.health.v1 service name to check ("" = server).' }),
  healthCheckInterval: duration({ flag: 'health_check_interval', env: 'GATEWAY_HEALTH_CHECK_INTERVAL', default: D.healthCheck.intervalMs, min: 10, help: 'Time between checks.' }),
  healthCheckTimeout: duration({ flag: 'health_check_timeout', env: 'GATEWAY_HEALTH_CHECK_TIMEOUT', default: D.healthCheck.timeoutMs, min: 1, help: 'A check not answered in this time failed.' }),
  unhealthyThreshold: int({ flag: 'unhealthy_threshold', env: 'GATEWAY_UNHEALTHY_THRESHOLD', default: D.healthCheck.unhealthyThreshold, min: 1, max: 100, help: 'Failed checks in a row that mark an endpoint unhealthy.' }),
  healthyThreshold: int({ flag: 'healthy_threshold', env: 'GATEWAY_HEALTHY_THRESHOLD', default: D.healthCheck.healthyThreshold, min: 1, max: 100, help: 'Passed checks in a row that mark it healthy again.' }),
  outlierFailures: int({ flag: 'outlier_consecutive_failures', env: 'GATEWAY_OUTLIER_CONSECUTIVE_FAILURES', default: D.outlier.consecutiveFailures, min: 0, max: 1_000_000, help: 'Failed calls in a row that eject an endpoint; 0 = off.' }),
  outlierBaseEjection: duration({ flag: 'outlier_base_ejection', env: 'GATEWAY_OUTLIER_BASE_EJECTION', default: D.outlier.baseEjectionMs, help: 'First ejection time; grows with each ejection.' }),
  outlierMaxEjection: duration({ flag: 'outlier_max_ejection', env: 'GATEWAY_OUTLIER_MAX_EJECTION', default: D.outlier.maxEjectionMs, help: 'Longest ejection.' }),
  outlierMaxEjectionPercent: int({ flag: 'outlier_max_ejection_percent', env: 'GATEWAY_OUTLIER_MAX_EJECTION_PERCENT', default: D.outlier.maxEjectionPercent, min: 0, max: 100, help: 'At most this share of a cluster is ejected (at least one endpoint may be).' }),
  maxMessageSize: bytes({ flag: 'max_message_size', env: 'GATEWAY_MAX_MESSAGE_SIZE', default: 0, help: 'Largest gRPC message per route; 0 = unlimited (as the nginx setup).' }),
  timeout: duration({ flag: 'timeout', env: 'GATEWAY_TIMEOUT', default: 0, help: 'Upper bound on a call\'s deadline; 0 = only the client\'s grpc-timeout.' }),
  maxAttempts: int({ flag: 'max_attempts', env: 'GATEWAY_MAX_ATTEMPTS', default: D.maxAttempts, min: 1, max: 10, help: 'Attempts per call when it fails before any response byte.' }),
  retryBuffer: bytes({ flag: 'retry_buffer', env: 'GATEWAY_RETRY_BUFFER', default: '16MiB', help: 'Request bytes kept for a retry; longer requests are not retried.' }),

  // ---- upstream connections
  connectionsPerEndpoint: int({ flag: 'connections_per_endpoint', env: 'GATEWAY_CONNECTIONS_PER_ENDPOINT', default: P.maxConnections, min: 1, max: 1024, help: 'Most HTTP/2 connections to one endpoint.' }),
  streamsPerConnection: int({ flag: 'streams_per_connection', env: 'GATEWAY_STREAMS_PER_CONNECTION', default: P.streamsPerConnection, min: 1, max: 100_000, help: 'Open another connection once each carries this many calls.' }),
  keepalive: duration({ flag: 'keepalive', env: 'GATEWAY_KEEPALIVE', default: P.keepaliveMs, help: 'PING period on upstream connections; 0 = off.' }),
  connectTimeout: duration({ flag: 'connect_timeout', env: 'GATEWAY_CONNECT_TIMEOUT', default: P.connectTimeoutMs, min: 1, help: 'Upstream connect timeout.' }),
  upstreamTls: bool({ flag: 'upstream_tls', env: 'GATEWAY_UPSTREAM_TLS', help: 'Connect to upstreams with TLS.' }),
  upstreamCa: filePath({ flag: 'upstream_ca', env: 'GATEWAY_UPSTREAM_CA', mustExist: 'file', help: 'CA that signed the upstreams\' certificates.' }),
  upstreamCert: filePath({ flag: 'upstream_cert', env: 'GATEWAY_UPSTREAM_CERT', mustExist: 'file', help: 'Client certificate for mTLS to upstreams.' }),
  upstreamKey: filePath({ flag: 'upstream_key', env: 'GATEWAY_UPSTREAM_KEY', mustExist: 'file', help: 'Private key of --upstream_cert.' }),
  upstreamServerName: string({ flag: 'upstream_server_name', env: 'GATEWAY_UPSTREAM_SERVER_NAME', help: 'TLS server name to verify instead of the endpoint host.' }),
  upstreamInsecure: bool({ flag: 'upstream_insecure_skip_verify', env: 'GATEWAY_UPSTREAM_INSECURE_SKIP_VERIFY', help: 'Do not verify upstream certificates (testing only).' }),

  ...loggingSpec('GATEWAY'),
};

export type GatewayFlags = ConfigOf<typeof gatewayConfigSpec>;

/** Cross-field checks, reported with every other problem. */
export function validateFlags(c: GatewayFlags): string[] {
  const problems: string[] = [];
  const sources = [c.routes !== undefined, c.bundle !== undefined, c.route.length > 0].filter(Boolean).length;
  if (sources !== 1) problems.push('give exactly one of --routes FILE, --bundle FILE or --route ID=HOST:PORT (GATEWAY_ROUTES / GATEWAY_BUNDLE / GATEWAY_ROUTE)');
  if (c.restRoute.length > 0 && c.route.length === 0) problems.push('--rest_route needs --route');
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) problems.push('--tls_cert and --tls_key go together');
  if (c.tlsClientCa !== undefined && c.tlsCert === undefined) problems.push('--tls_client_ca needs --tls_cert and --tls_key');
  if ((c.upstreamCert === undefined) !== (c.upstreamKey === undefined)) problems.push('--upstream_cert and --upstream_key go together');
  if (c.bundleHost !== undefined && c.bundle === undefined) problems.push('--bundle_host needs --bundle');
  if (c.readArena !== 0 && c.readArena < MIN_READ_ARENA) problems.push(`--read_arena must be 0 or at least ${MIN_READ_ARENA} bytes (64KiB), got ${c.readArena}`);
  problems.push(...parseRouteFlags(c.route, c.restRoute).problems);
  return problems;
}

export type RouteSource =
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'bundle'; readonly path: string; readonly host: string | undefined }
  | { readonly kind: 'flags'; readonly routes: readonly string[]; readonly restRoutes: readonly string[] };

/** What createGateway needs, independent of how it was read. */
export interface GatewayConfig {
  readonly host: string;
  readonly port: number;
  readonly restPort: number;
  /** Admin endpoints on their own port; undefined = on the REST port. */
  readonly adminPort: number | undefined;
  readonly source: RouteSource;
  readonly reloadIntervalMs: number;
  readonly dnsRefreshMs: number;
  readonly clusterDefaults: ClusterOptions;
  readonly pool: PoolOptions;
  readonly listener: GrpcListenerOptions;
  readonly retryBufferBytes: number;
  readonly readyPolicy: ReadyPolicy;
  readonly drainTimeoutMs: number;
}

export function toGatewayConfig(c: GatewayFlags): GatewayConfig {
  const upstreamTls =
    c.upstreamTls || c.upstreamCa !== undefined || c.upstreamCert !== undefined
      ? { ca: c.upstreamCa, cert: c.upstreamCert, key: c.upstreamKey, serverName: c.upstreamServerName, insecureSkipVerify: c.upstreamInsecure }
      : undefined;
  const source: RouteSource =
    c.routes !== undefined
      ? { kind: 'file', path: c.routes }
      : c.bundle !== undefined
        ? { kind: 'bundle', path: c.bundle, host: c.bundleHost }
        : { kind: 'flags', routes: c.route, restRoutes: c.restRoute };
  return {
    host: c.host,
    port: c.port,
    restPort: c.restPort,
    adminPort: c.adminPort,
    source,
    reloadIntervalMs: c.reloadInterval,
    dnsRefreshMs: c.dnsRefresh,
    clusterDefaults: {
      lbPolicy: c.lbPolicy,
      healthCheck: {
        kind: c.healthCheck,
        service: c.healthCheckService,
        model: undefined,
        intervalMs: c.healthCheckInterval,
        timeoutMs: c.healthCheckTimeout,
        unhealthyThreshold: c.unhealthyThreshold,
        healthyThreshold: c.healthyThreshold,
      },
      outlier: {
        consecutiveFailures: c.outlierFailures,
        baseEjectionMs: c.outlierBaseEjection,
        maxEjectionMs: c.outlierMaxEjection,
        maxEjectionPercent: c.outlierMaxEjectionPercent,
      },
      maxMessageSize: c.maxMessageSize,
      timeoutMs: c.timeout,
      maxAttempts: c.maxAttempts,
      tls: upstreamTls,
    },
    pool: {
      maxConnections: c.connectionsPerEndpoint,
      streamsPerConnection: c.streamsPerConnection,
      streamWindow: c.streamWindow,
      connectionWindow: c.connectionWindow,
      maxFrameSize: c.maxFrameSize,
      readArena: c.readArena,
      keepaliveMs: c.keepalive,
      connectTimeoutMs: c.connectTimeout,
      maxHeaderListSize: c.maxHeaderListSize,
    },
    listener: {
      streamWindow: c.streamWindow,
      connectionWindow: c.connectionWindow,
      maxFrameSize: c.maxFrameSize,
      readArena: c.readArena,
      maxConcurrentStreams: c.maxConcurrentStreams,
      maxHeaderListSize: c.maxHeaderListSize,
      sniffModelName: c.sniffModelName,
      tls:
        c.tlsCert !== undefined && c.tlsKey !== undefined
          ? {
              cert: readFileSync(c.tlsCert),
              key: readFileSync(c.tlsKey),
              ...(c.tlsClientCa === undefined ? {} : { clientCa: readFileSync(c.tlsClientCa) }),
            }
          : undefined,
    },
    retryBufferBytes: c.retryBuffer,
    readyPolicy: c.readyPolicy,
    drainTimeoutMs: c.drainTimeout,
  };
}
