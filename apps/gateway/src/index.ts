// @bundlegate/gateway: the metadata-routed gRPC gateway (listener → route → cluster → endpoint).

// ---- the gateway
export { createGateway, readRouteSource } from './gateway';
export type { Gateway, GatewayDeps, BoundPorts } from './gateway';
export { gatewayConfigSpec, toGatewayConfig, validateFlags, READY_POLICIES } from './config';
export type { GatewayConfig, GatewayFlags, ReadyPolicy, RouteSource } from './config';

// ---- routes
export {
  DEFAULT_CLUSTER_OPTIONS,
  HEALTH_CHECK_KINDS,
  LB_POLICIES,
  loadBundleRoutes,
  loadRoutesFile,
  parseEndpoint,
  parseRouteFlags,
  parseRoutesYaml,
} from './route-config';
export type { ClusterOptions, EndpointSpec, HealthCheckKind, HealthCheckSpec, LbPolicy, OutlierSpec, RouteSpec, UpstreamTlsSpec } from './route-config';
export { compileRoutes, Route, RouteTable } from './route-table';
export { ModelIdMatcher, RestPathMatcher } from './matcher';
export type { Matcher } from './matcher';

// ---- clusters and endpoints
export { Cluster, createLoadBalancer } from './cluster';
export type { ClusterDeps } from './cluster';
export { Endpoint } from './endpoint';
export { ConnectionPool, PooledSession, DEFAULT_POOL_OPTIONS } from './connection-pool';
export type { PoolOptions } from './connection-pool';
export type { LoadBalancer } from './load-balancer';
export { RoundRobinBalancer } from './load-balancer-round-robin';
export { LeastRequestBalancer } from './load-balancer-least-request';
export { OutlierDetector } from './outlier-detector';
export { HealthChecker, probe } from './health-checker';

// ---- the gRPC path
export { GrpcListener } from './grpc-listener';
export type { GrpcListenerOptions, ListenerTls, RouterState } from './grpc-listener';
export { GatewayHealth, HEALTH_CHECK_PATH, HEALTH_WATCH_PATH } from './grpc-health';
export type { HealthSource } from './grpc-health';
export { GrpcCall } from './grpc-call';
export type { CallContext } from './grpc-call';
export { rescue, respondTrailersOnly, rescueHttp, GATEWAY_ERROR_HEADER } from './rescue';
export type { Rescued } from './rescue';
export { sniffModelName, SNIFFABLE_PATHS, NEED_MORE, NO_NAME } from './model-name-sniffer';
export {
  decodeGrpcMessage,
  encodeGrpcMessage,
  formatGrpcTimeout,
  parseGrpcTimeout,
  grpcCodeName,
  MessageSizeGuard,
} from './grpc-wire';

// ---- HTTP/2 framing and HPACK (both sides of the proxy)
export { H2Connection, H2Stream, H2_ERROR, CONNECTION_LOST, FRAME } from './h2-connection';
export type { ConnectionEvents, LocalSettings, StreamHandler } from './h2-connection';
export { HpackDecoder, HpackEncoder, HpackError, STATIC_TABLE } from './hpack';
export type { HeaderList } from './hpack';
export { huffmanDecode, huffmanEncode, huffmanLength } from './hpack-huffman';

// ---- REST and metrics
export { createRestApp } from './rest';
export { GatewayMetrics } from './metrics';
