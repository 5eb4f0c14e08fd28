import { Server, ServerCredentials, status, type Metadata, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { health, kserve, tfs } from '@bundlegate/protos';
import {
  createTensor,
  fromModelInferRequest,
  fromPredictRequest,
  toModelInferResponse,
  toPredictResponse,
  type AnyTensor,
  type Tensor,
} from '@bundlegate/tensors';

// A model server for tests: the generated KServe v2, TF Serving and health service definitions on a real grpc-js
// server on 127.0.0.1. Each model is a function of its input tensors, so tests can tell what the proxy sent and check
// how it mapped the answer.

export type ModelFn = (inputs: readonly AnyTensor[]) => Tensor[] | Promise<Tensor[]>;

export interface ReceivedCall {
  readonly protocol: 'kserve-v2' | 'tfs-predict';
  readonly modelName: string;
  readonly modelIdMetadata: string | undefined;
  readonly requestIdMetadata: string | undefined;
  readonly inputs: AnyTensor[];
  readonly requestedOutputs: string[];
}

export interface TestBackend {
  readonly address: string;
  readonly calls: ReceivedCall[];
  /** Models the server knows; unknown ones get NOT_FOUND like OVMS. */
  readonly models: Map<string, ModelFn>;
  /** Models reported not ready. */
  readonly notReady: Set<string>;
  serving: boolean;
  close(): Promise<void>;
}

/** An error a model function throws to make the call fail with this gRPC status. */
export class StatusError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

function metadataValue(metadata: Metadata, key: string): string | undefined {
  const v = metadata.get(key)[0];
  return typeof v === 'string' ? v : undefined;
}

function fail(callback: sendUnaryData<never>, error: unknown): void {
  if (error instanceof StatusError) callback({ code: error.code, details: error.message });
  else callback({ code: status.INTERNAL, details: error instanceof Error ? error.message : String(error) });
}

export async function startTestBackend(models: Record<string, ModelFn>): Promise<TestBackend> {
  const server = new Server({ 'grpc.max_receive_message_length': 100 * 1024 * 1024, 'grpc.max_send_message_length': 100 * 1024 * 1024 });
  const backend: Omit<TestBackend, 'address' | 'close'> = { calls: [], models: new Map(Object.entries(models)), notReady: new Set(), serving: true };

  const run = async (protocol: ReceivedCall['protocol'], name: string, metadata: Metadata, inputs: AnyTensor[], outputs: string[]): Promise<Tensor[]> => {
    backend.calls.push({ protocol, modelName: name, modelIdMetadata: metadataValue(metadata, 'model-id'), requestIdMetadata: metadataValue(metadata, 'x-request-id'), inputs, requestedOutputs: outputs });
    const fn = backend.models.get(name);
    if (fn === undefined) throw new StatusError(status.NOT_FOUND, `Model with requested name is not found: ${name}`);
    const result = await fn(inputs);
    return outputs.length === 0 ? result : result.filter((t) => t.name !== undefined && outputs.includes(t.name));
  };

  server.addService(kserve.GRPCInferenceServiceService, {
    serverLive: (_call: ServerUnaryCall<kserve.ServerLiveRequest, kserve.ServerLiveResponse>, cb: sendUnaryData<kserve.ServerLiveResponse>) => cb(null, { live: true }),
    serverReady: (_call: ServerUnaryCall<kserve.ServerReadyRequest, kserve.ServerReadyResponse>, cb: sendUnaryData<kserve.ServerReadyResponse>) =>
      cb(null, { ready: backend.serving }),
    modelReady: (call: ServerUnaryCall<kserve.ModelReadyRequest, kserve.ModelReadyResponse>, cb: sendUnaryData<kserve.ModelReadyResponse>) => {
      if (!backend.models.has(call.request.name)) return cb({ code: status.NOT_FOUND, details: 'no such model' });
      cb(null, { ready: !backend.notReady.has(call.request.name) });
    },
    serverMetadata: (_call: unknown, cb: sendUnaryData<never>) => cb({ code: status.UNIMPLEMENTED }),
    modelMetadata: (_call: unknown, cb: sendUnaryData<never>) => cb({ code: status.UNIMPLEMENTED }),
    modelStreamInfer: (call: { end(): void }) => call.end(),
    modelInfer: (call: ServerUnaryCall<kserve.ModelInferRequest, kserve.ModelInferResponse>, cb: sendUnaryData<kserve.ModelInferResponse>) => {
      let inputs: AnyTensor[];
      try {
        inputs = fromModelInferRequest(call.request);
      } catch (error) {
        return cb({ code: status.INVALID_ARGUMENT, details: (error as Error).message });
      }
      const requested = call.request.outputs.map((o) => o.name);
      run('kserve-v2', call.request.modelName, call.metadata, inputs, requested).then(
        (outputs) => cb(null, toModelInferResponse({ modelName: call.request.modelName, id: call.request.id, outputs })),
        (error: unknown) => fail(cb as sendUnaryData<never>, error),
      );
    },
  });

  server.addService(tfs.PredictionServiceService, {
    predict: (call: ServerUnaryCall<tfs.PredictRequest, tfs.PredictResponse>, cb: sendUnaryData<tfs.PredictResponse>) => {
      const name = call.request.modelSpec?.name ?? '';
      let inputs: AnyTensor[];
      try {
        inputs = fromPredictRequest(call.request);
      } catch (error) {
        return cb({ code: status.INVALID_ARGUMENT, details: (error as Error).message });
      }
      run('tfs-predict', name, call.metadata, inputs, call.request.outputFilter).then(
        (outputs) => cb(null, toPredictResponse(outputs, call.request.modelSpec)),
        (error: unknown) => fail(cb as sendUnaryData<never>, error),
      );
    },
    getModelMetadata: (_call: unknown, cb: sendUnaryData<never>) => cb({ code: status.UNIMPLEMENTED }),
  });

  server.addService(tfs.ModelServiceService, {
    getModelStatus: (call: ServerUnaryCall<tfs.GetModelStatusRequest, tfs.GetModelStatusResponse>, cb: sendUnaryData<tfs.GetModelStatusResponse>) => {
      const name = call.request.modelSpec?.name ?? '';
      if (!backend.models.has(name)) return cb({ code: status.NOT_FOUND, details: `Could not find any versions of model ${name}` });
      const state = backend.notReady.has(name) ? tfs.ModelVersionStatus_State.LOADING : tfs.ModelVersionStatus_State.AVAILABLE;
      cb(null, { modelVersionStatus: [{ version: 1n, state }] });
    },
  });

  server.addService(health.HealthService, {
    check: (_call: ServerUnaryCall<health.HealthCheckRequest, health.HealthCheckResponse>, cb: sendUnaryData<health.HealthCheckResponse>) =>
      cb(null, { status: backend.serving ? health.HealthCheckResponse_ServingStatus.SERVING : health.HealthCheckResponse_ServingStatus.NOT_SERVING }),
    watch: (call: { end(): void }) => call.end(),
  });

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    ...backend,
    address: `127.0.0.1:${port}`,
    get serving() {
      return backend.serving;
    },
    set serving(v: boolean) {
      backend.serving = v;
    },
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** The grid model of the tests: output[k] = (k mod 1000) / 1000 plus the mean of the input, shape [1, rows, cols, ch]. */
export function gridModel(rows: number, cols: number, channels: number, outputName: string): ModelFn {
  return (inputs) => {
    const input = inputs[0];
    let mean = 0;
    if (input !== undefined && input.datatype === 'FP32') {
      for (const v of input.data) mean += v;
      mean /= input.data.length;
    }
    const data = new Float32Array(rows * cols * channels);
    for (let k = 0; k < data.length; k++) data[k] = (k % 1000) / 1000 + mean;
    return [createTensor('FP32', [1, rows, cols, channels], data, outputName)];
  };
}

/** The classifier of the tests: label "big" when the encoded input is over 1000 bytes, score = bytes / 1e6. */
export function sizeClassifier(labelName: string, scoreName: string): ModelFn {
  return (inputs) => {
    const input = inputs[0];
    const size = input !== undefined && input.datatype === 'BYTES' ? (input.data[0]?.byteLength ?? 0) : 0;
    return [
      createTensor('BYTES', [1], [new TextEncoder().encode(size > 1000 ? 'big' : 'small')], labelName),
      createTensor('FP32', [1], Float32Array.of(size / 1e6), scoreName),
    ];
  };
}
