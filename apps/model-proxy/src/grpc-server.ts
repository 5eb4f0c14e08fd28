import { Server, type ServerUnaryCall, type sendUnaryData, type Metadata } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { bgv1, packageDefinition } from '@bundlegate/protos';
import {
  addGrpcHealth,
  bgError,
  grpcMessageLimits,
  REQUEST_ID_HEADER,
  requestId,
  toBgError,
  toGrpcStatus,
  type HealthState,
  type Logger,
  type Metrics,
} from '@bundlegate/service-kit';
import { tensorToRaw } from '@bundlegate/tensors';
import { MODEL_ID_METADATA } from './backend-gateway';
import { configView } from './config-view';
import type { FriendlyValue } from './friendly-input';
import type { FriendlyOutput } from './friendly-output';
import type { ModelCatalog, ProxyModel } from './model-catalog';
import type { Predictor } from './predictor';
import type { Readiness } from './readiness';
import { serializePredictResponse } from './wire-encoding';

export const MODEL_PROXY_SERVICE = 'bundlegate.v1.ModelProxy';
const REFLECTED_SERVICES = [MODEL_PROXY_SERVICE, 'grpc.health.v1.Health'];

export interface GrpcServerDeps {
  readonly catalog: ModelCatalog;
  readonly predictor: Predictor;
  readonly readiness: Readiness;
  readonly backendKind: string;
  readonly health: HealthState;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly maxMessageBytes: number;
}

function firstMetadata(metadata: Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

/** bgv1 Input → friendly value; the oneof case must match the input's type (checked when the tensor is made). */
export function friendlyFromProto(model: ProxyModel, key: string, input: bgv1.Input): FriendlyValue {
  if (input.image !== undefined) return { kind: 'image', bytes: input.image };
  if (input.quad !== undefined) return { kind: 'quad', points: input.quad.points.map((p) => [p.x, p.y] as [number, number]) };
  if (input.scalar !== undefined) return { kind: 'scalar', value: input.scalar };
  if (input.tensor !== undefined) {
    const { datatype, shape, data } = input.tensor;
    const dims = shape.map((d) => (d >= 0n && d <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(d) : -1));
    if (dims.some((d) => d < 0)) {
      throw bgError('BG_INVALID_SHAPE', { field: key, expected: 'non-negative dims', got: shape.map((d) => d.toString()).join(', ') });
    }
    return { kind: 'rawTensor', datatype, shape: dims, data };
  }
  throw bgError('BG_INVALID_INPUT_TYPE', { field: key, expected: model.input(key)?.expected ?? 'a value', got: 'an Input with no value set' });
}

export function outputToProto(output: FriendlyOutput): bgv1.Output {
  const head = output.name === null ? { typeId: output.typeId } : { typeId: output.typeId, name: output.name };
  switch (output.typeId) {
    case 'MaxClassification':
      return { ...head, classification: { label: output.label, score: output.score } };
    case 'GridEmbedding': {
      const { rows, cols, channels, data } = output;
      return { ...head, embeddingGrid: { rows, cols, channels, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) } };
    }
    case 'Tensor': {
      const t = output.tensor;
      return { ...head, tensor: { datatype: t.datatype, shape: t.shape.map(BigInt), data: tensorToRaw(t) } };
    }
  }
}

/** The gRPC server: bundlegate.v1.ModelProxy, grpc.health.v1.Health and server reflection. Bind it with bindGrpc. */
export function createGrpcServer(deps: GrpcServerDeps): Server {
  const { catalog, predictor, readiness, logger, metrics } = deps;
  const log = logger.child({ module: 'grpc' });
  const calls = metrics.counter({ name: 'model_proxy_grpc_calls_total', help: 'gRPC calls by method and status code.', labelNames: ['method', 'code'] });

  const respond = <T>(method: string, callback: sendUnaryData<T>, reqId: string, work: () => Promise<T>): void => {
    work().then(
      (response) => {
        calls.inc({ method, code: '0' });
        callback(null, response);
      },
      (err: unknown) => {
        // the one gRPC error boundary
        const e = toBgError(err);
        const status = toGrpcStatus(e);
        calls.inc({ method, code: String(status.code) });
        if (e.httpStatus >= 500) log.error({ reqId, method, code: e.code, err: e.cause ?? e }, e.message);
        else log.debug({ reqId, method, code: e.code }, e.message);
        callback(status);
      },
    );
  };

  const implementation: bgv1.ModelProxyServer = {
    getConfig(call: ServerUnaryCall<bgv1.GetConfigRequest, bgv1.GetConfigResponse>, callback) {
      const reqId = requestId(firstMetadata(call.metadata, REQUEST_ID_HEADER));
      respond('GetConfig', callback, reqId, async () => {
        const view = configView(catalog, deps.backendKind, await readiness.current());
        return {
          bundles: view.bundles.map((b) => ({
            name: b.name,
            backendInferenceEngine: b.backendInferenceEngine,
            models: b.models.map((m) => ({
              id: m.id,
              backendInferenceEngine: m.backendInferenceEngine,
              ready: m.ready,
              inputs: m.inputs.map((i) => ({ typeId: i.typeId, key: i.key, name: i.name, params: { ...i.params } })),
              outputs: m.outputs.map((o) => ({ typeId: o.typeId, name: o.name, params: { ...o.params } })),
            })),
          })),
        };
      });
    },

    predict(call: ServerUnaryCall<bgv1.PredictRequest, bgv1.PredictResponse>, callback) {
      const reqId = requestId(firstMetadata(call.metadata, REQUEST_ID_HEADER));
      respond('Predict', callback, reqId, async () => {
        const modelId = call.request.modelId !== '' ? call.request.modelId : firstMetadata(call.metadata, MODEL_ID_METADATA);
        if (modelId === undefined || modelId === '') throw bgError('BG_MISSING_MODEL_ID');
        const model = catalog.get(modelId);
        const values = new Map<string, FriendlyValue>();
        for (const [key, input] of Object.entries(call.request.inputs)) values.set(key, friendlyFromProto(model, key, input));
        const deadline = call.getDeadline();
        const result = await predictor.predict(model, values, {
          requestId: reqId,
          deadline: deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined,
        });
        return { modelId: result.modelId, outputs: result.outputs.map(outputToProto), timings: { ...result.timings } };
      });
    },
  };

  const server = new Server(grpcMessageLimits(deps.maxMessageBytes));
  // Predict answers carry 600 KB grids: serialized with one copy of the bytes instead of the generated encoder's three
  const service = { ...bgv1.ModelProxyService, predict: { ...bgv1.ModelProxyService.predict, responseSerialize: serializePredictResponse } };
  server.addService(service, implementation);
  addGrpcHealth(server, deps.health, { services: { [MODEL_PROXY_SERVICE]: 'all' } });
  // @grpc/reflection reads the same descriptor shape as proto-loader 0.8 produces
  new ReflectionService(packageDefinition() as ConstructorParameters<typeof ReflectionService>[0], { services: REFLECTED_SERVICES }).addToServer(server);
  return server;
}
