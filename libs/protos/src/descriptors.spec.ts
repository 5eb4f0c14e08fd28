import { loadSync, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileDescriptorSet, packageDefinition, protoFiles, protoRoot, serviceNames } from './index';

const expectedMethods: Record<string, string[]> = {
  [serviceNames.kserve]: [
    'ServerLive',
    'ServerReady',
    'ModelReady',
    'ServerMetadata',
    'ModelMetadata',
    'ModelInfer',
    'ModelStreamInfer',
  ],
  [serviceNames.tfsPrediction]: ['Predict', 'GetModelMetadata'],
  [serviceNames.tfsModel]: ['GetModelStatus'],
  [serviceNames.health]: ['Check', 'Watch'],
  [serviceNames.modelProxy]: ['GetConfig', 'Predict'],
};

function services(def: PackageDefinition): string[] {
  return Object.keys(def)
    .filter((name) => !('format' in (def[name] as object)))
    .sort();
}

function method(def: PackageDefinition, service: string, name: string) {
  const m = (def[service] as ServiceDefinition)[name];
  if (!m) throw new Error(`${service} has no method ${name}`);
  return m;
}

function assertServices(def: PackageDefinition): void {
  expect(services(def)).toEqual(Object.keys(expectedMethods).sort());
  for (const [service, methods] of Object.entries(expectedMethods)) {
    expect(Object.keys(def[service] as ServiceDefinition).sort()).toEqual([...methods].sort());
  }
  const streamInfer = method(def, serviceNames.kserve, 'ModelStreamInfer');
  expect(streamInfer.path).toBe('/inference.GRPCInferenceService/ModelStreamInfer');
  expect([streamInfer.requestStream, streamInfer.responseStream]).toEqual([true, true]);
  const watch = method(def, serviceNames.health, 'Watch');
  expect([watch.requestStream, watch.responseStream]).toEqual([false, true]);
  expect(method(def, serviceNames.tfsPrediction, 'Predict').path).toBe('/tensorflow.serving.PredictionService/Predict');
}

describe('descriptors', () => {
  it('lists every .proto file under protoRoot', () => {
    const onDisk: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const full = join(dir, e.name);
        if (e.isDirectory()) walk(full);
        else if (e.name.endsWith('.proto')) onDisk.push(relative(protoRoot, full).split(sep).join('/'));
      }
    };
    walk(protoRoot);
    expect([...protoFiles]).toEqual(onDisk.sort());
    expect(protoFiles).toContain('tensorflow_serving/apis/predict.proto');
    expect(existsSync(join(protoRoot, 'grpc/health/v1/health.proto'))).toBe(true);
  });

  it('@grpc/proto-loader loads every service from the .proto files under protoRoot', () => {
    const def = loadSync([...protoFiles], { includeDirs: [protoRoot] });
    assertServices(def);
  });

  it('the embedded FileDescriptorSet loads the same services, well-known types included', () => {
    expect(fileDescriptorSet().length).toBeGreaterThan(1000);
    const def = packageDefinition();
    assertServices(def);
    expect(Object.keys(def)).toEqual(expect.arrayContaining(['google.protobuf.Any', 'google.protobuf.Struct']));
  });
});
