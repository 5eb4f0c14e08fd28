// @bundlegate/bundle: bundle.yaml and bundle-signature.yaml — parse, validate, JSON Schemas, derived plans.

// Errors
export { BundleFileError, formatIssue, type BundleIssue } from './bundle-file-error';

// Engines, protocols and their defaults
export {
  clusterName,
  SERVING_ENGINE_DEFAULTS,
  SERVING_ENGINES,
  SIGNATURE_ENGINE_PROTOCOL,
  SIGNATURE_ENGINES,
  type BackendProtocol,
  type ServingEngine,
  type ServingEngineDefaults,
  type SignatureEngine,
} from './engines';
export { IMAGE_DTYPES, NUMERIC_DTYPES, TENSOR_DTYPES, type ImageDtype, type NumericDtype, type TensorDtype } from './dtypes';

// bundle-signature.yaml
export { inputKey, inputTensorName, loadSignatureFile, parseSignature } from './signature';
export {
  INPUT_TYPE_IDS,
  OUTPUT_TYPE_IDS,
  type BundleSignature,
  type ChannelValues,
  type DecodeJpegParams,
  type GridEmbeddingParams,
  type ImageInputParams,
  type InputEntry,
  type InputTypeId,
  type MaxClassificationParams,
  type OutputEntry,
  type OutputTypeId,
  type QuadInputParams,
  type ScalarInputParams,
  type SignatureBundle,
  type SignatureBundleEntry,
  type SignatureDocument,
  type SignatureModel,
  type SignatureModelEntry,
  type SourceLocation,
  type TensorInputParams,
  type TensorOutputParams,
} from './signature-types';

// bundle.yaml
export {
  loadBundleFile,
  parseBundle,
  type BundleDocument,
  type BundleManifest,
  type BundleModel,
  type BundleModelEntry,
  type LoadedBundle,
} from './bundle-manifest';

// bundle.yaml: engine options and the settings every engine shares
export {
  dockerMemoryBytes,
  ovmsDevices,
  OVMS_LOG_LEVELS,
  servingResources,
  type EngineOptionsMap,
  type ModelVersionPolicy,
  type OnnxServingOptions,
  type OnnxServingPluginConfig,
  type OvmsLogLevel,
  type OvmsOptions,
  type OvmsShapeValue,
  type ResourcesEntry,
  type ServingResources,
  type TfServingBatching,
  type TfServingMonitoring,
  type TfServingOptions,
  type TritonOptions,
} from './engine-options';
export { formatSourceUri, parseSourceUri, sourceChild, SourceUriError, type ParseSourceUriOptions, type SourceUri } from './source-uri';
export { crossCheck, type CrossCheckReport, type ProtocolMismatch } from './cross-check';

// JSON Schemas
export { BUNDLE_SCHEMA, BUNDLE_SIGNATURE_SCHEMA } from './schema-validator';

// Derived plans
export {
  indexModelPlans,
  planInput,
  planModelIo,
  planOutput,
  planSignature,
  QUAD_SHAPE,
  SCALAR_SHAPE,
  type BundlePlan,
  type ImagePreprocessPlan,
  type InputPlan,
  type ModelIoPlan,
  type OutputMapping,
  type OutputPlan,
  type SignaturePlan,
  type Triple,
} from './io-plan';
export { routeTable, type ClusterEndpoints, type Endpoint, type Route, type RoutableModel, type RouteTableOptions } from './route-table';
export {
  DEFAULT_OVMS_BASE_PATH,
  ovmsConfig,
  ovmsShape,
  type OvmsConfig,
  type OvmsConfigModel,
  type OvmsConfigOptions,
  type OvmsModelConfig,
} from './ovms-config';
export { TFS_PROMETHEUS_PATH, tfServingBatchingParameters, tfServingMonitoringConfig } from './tfserving-config';
