// @bundlegate/e2e: helpers of the compose end-to-end run (tools/e2e/compose runs src/compose.e2e.ts).

export { isRootUser, mountAt, parseTop, publishedPorts, serviceOf } from './containers';
export type { ContainerInspect, ProcessEntry, PublishedPort } from './containers';
export { ComposeProject, DockerCli, mustRun, runCommand } from './docker';
export type { CommandResult } from './docker';
export { grpcPredictByMetadata, proxyGrpcClient, ProxyHttp } from './proxy-client';
export type { HttpAnswer } from './proxy-client';
export { startRelay } from './relay';
export type { Relay, RelayOptions } from './relay';
