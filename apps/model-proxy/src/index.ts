// @bundlegate/model-proxy: the typed public API over a bundle (HTTP :8000, gRPC :8005).

// Assembly
export { createModelProxy } from './model-proxy';
export type { ListenOptions, ModelProxy, ModelProxyOptions } from './model-proxy';
export { MODEL_PROXY_CONFIG, crossCheckConfig } from './config';
export type { ModelProxyConfig } from './config';

// Models and the prediction path
export { ModelCatalog, ProxyModel } from './model-catalog';
export type { CatalogBundle } from './model-catalog';
export { ProxyInput, describeExpected } from './friendly-input';
export type { FriendlyValue, InputOptions } from './friendly-input';
export { mapOutputs } from './friendly-output';
export type { FriendlyOutput } from './friendly-output';
export { Predictor } from './predictor';
export type { PredictOptions, PredictResult, PredictorOptions, StageObserver, Timings } from './predictor';

// Backends
export type { InferCall, InferenceBackend } from './backend';
export { GatewayBackend, MODEL_ID_METADATA, upstreamError } from './backend-gateway';
export type { GatewayBackendOptions, GatewayTls } from './backend-gateway';
export { InProcessBackend } from './backend-in-process';
export type { InProcessBackendOptions } from './backend-in-process';
export { serializeModelInferRequest, serializePredictRequest } from './wire-encoding';

// HTTP
export { createHttpApp } from './http-app';
export type { HttpAppDeps } from './http-app';
export { API_PREFIX, buildOpenApi, schemaNames } from './openapi';
export type { JsonSchema, OpenApiDocument } from './openapi';
export { RequestValidator } from './request-validator';
export { renderPredictJson, OUTPUT_ENCODINGS } from './render-json';
export type { OutputEncoding } from './render-json';
export { configView } from './config-view';
export type { ConfigView } from './config-view';

// gRPC
export { createGrpcServer, MODEL_PROXY_SERVICE } from './grpc-server';
export type { GrpcServerDeps } from './grpc-server';

// Health
export { Readiness, BACKEND_CHECK, modelCheck } from './readiness';
