// @bundlegate/onnx-serving: the server as a library, for tests and for embedding (`bundlegate up`).

export { startOnnxServing, STARTUP_CHECK } from './server';
export type { Listen, OnnxServing, OnnxServingDeps, OnnxServingOptions } from './server';
export { configSpec, logLevelOf, resolveServing, validateConfig, SERVICE } from './config';
export type { OnnxServingConfig } from './config';
export { createGrpcServer, modelCheck } from './grpc-server';
export { createRestHandler, restErrorBody } from './rest';
export { decodeModelInferRequest, encodeModelInferResponse, encodeModelStreamInferResponse, kserveServiceDefinition } from './kserve-wire';
export { createServingMetrics, OVMS_TIME_BUCKETS_US } from './serving-metrics';
export type { ServingMetrics } from './serving-metrics';
export { PLATFORM, SERVER_NAME, SERVER_VERSION } from './serving-context';
