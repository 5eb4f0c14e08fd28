import { loadFileDescriptorSetFromBuffer, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { join } from 'node:path';
import { fileDescriptorSetBase64, protoFiles as generatedProtoFiles } from '../generated/descriptors';

/**
 * Folder holding the .proto files, laid out by import path (pass it as proto-loader's `includeDirs`).
 * Exists in the source tree only: bundled apps should use `fileDescriptorSet()` or `packageDefinition()`.
 */
export const protoRoot: string = join(__dirname, '..', 'proto');

/** Every .proto file under `protoRoot`, relative to it. */
export const protoFiles: readonly string[] = generatedProtoFiles;

/** Fully-qualified names of the gRPC services these files define. */
export const serviceNames = {
  kserve: 'inference.GRPCInferenceService',
  tfsPrediction: 'tensorflow.serving.PredictionService',
  tfsModel: 'tensorflow.serving.ModelService',
  health: 'grpc.health.v1.Health',
  modelProxy: 'bundlegate.v1.ModelProxy',
} as const;

/** A FileDescriptorSet of every file (and the well-known types they import), without source info. */
export function fileDescriptorSet(): Buffer {
  return Buffer.from(fileDescriptorSetBase64, 'base64');
}

/**
 * proto-loader's view of every service and message, built from the embedded descriptor set so it
 * works in bundled apps too (e.g. for `new ReflectionService(packageDefinition())`).
 */
export function packageDefinition(options: Options = {}): PackageDefinition {
  return loadFileDescriptorSetFromBuffer(fileDescriptorSet(), options);
}
