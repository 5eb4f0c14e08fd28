// @bundlegate/protos: generated messages, services and clients for every protocol Bundlegate speaks.

// KServe v2 / Open Inference Protocol + Triton streaming (package `inference`).
export * as kserve from '../generated/grpc_predict_v2';

// TF Serving API (package `tensorflow.serving`).
export * as tfs from './tensorflow-serving';

// TensorFlow framework types: TensorProto, DataType, TensorShapeProto, SignatureDef (package `tensorflow`).
export * as tf from './tensorflow';

// gRPC health checking (package `grpc.health.v1`).
export * as health from '../generated/grpc/health/v1/health';

// Bundlegate's public model-proxy API (package `bundlegate.v1`).
export * as bgv1 from '../generated/bundlegate/v1/model_proxy';

// Well-known types: Any, Struct, Int64Value, ...
export * as google from './google';

// Descriptors for reflection and dynamic loading.
export { fileDescriptorSet, packageDefinition, protoFiles, protoRoot, serviceNames } from './descriptors';
