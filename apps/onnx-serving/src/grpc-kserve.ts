import type { ServerDuplexStream } from '@grpc/grpc-js';
import { parseVersion, type InferResult } from '@bundlegate/model-runtime';
import type { kserve } from '@bundlegate/protos';
import { bgError, toBgError } from '@bundlegate/service-kit';
import { encodeKServeTensors } from '@bundlegate/tensors';
import { isMalformed, malformedError } from './grpc-malformed';
import { requestIdOf, unary } from './grpc-unary';
import { kserveInputs, kserveRequestedOutputs } from './request-tensors';
import { observeModelCall, PLATFORM, SERVER_NAME, SERVER_VERSION, type ServingContext } from './serving-context';

// inference.GRPCInferenceService: every KServe v2 RPC, ModelStreamInfer included.

function inferResponse(request: kserve.ModelInferRequest, result: InferResult): kserve.ModelInferResponse {
  const { tensors, raw } = encodeKServeTensors(result.outputs, 'raw');
  return {
    modelName: result.model,
    modelVersion: String(result.version),
    id: request.id,
    parameters: {},
    outputs: tensors,
    rawOutputContents: raw,
  };
}

export function kserveService(ctx: ServingContext): kserve.GRPCInferenceServiceServer {
  const { manager, health } = ctx;

  const infer = (request: kserve.ModelInferRequest, method: string, requestId: string | undefined): Promise<kserve.ModelInferResponse> =>
    observeModelCall(ctx, { api: 'KServe', interface: 'gRPC', method, model: request.modelName, version: request.modelVersion, inference: true, requestId }, async (tracker) => {
      const version = parseVersion(request.modelName, request.modelVersion);
      // an unknown model is reported as such before the inputs are looked at
      manager.checkModel(request.modelName);
      const inputs = kserveInputs(request);
      const result = await manager.infer({ model: request.modelName, version, inputs, outputs: kserveRequestedOutputs(request), moveInputs: true, onVersion: tracker.pinned });
      ctx.metrics.inference(result.model, String(result.version), result.inferenceUs);
      return inferResponse(request, result);
    });

  return {
    serverLive: unary(() => ({ live: health.live })),
    serverReady: unary(() => ({ ready: health.isReady() })),
    serverMetadata: unary(() => ({ name: SERVER_NAME, version: SERVER_VERSION, extensions: [] })),

    modelReady: unary((request: kserve.ModelReadyRequest, requestId) =>
      observeModelCall(ctx, { api: 'KServe', interface: 'gRPC', method: 'ModelReady', model: request.name, version: request.version, requestId }, () => {
        const version = parseVersion(request.name, request.version);
        const status = manager.status(request.name);
        if (version !== undefined && !status.versions.some((v) => v.version === version && v.state !== 'END')) {
          throw bgError('BG_UNKNOWN_VERSION', { modelId: request.name, version: String(version), known: manager.availableVersions(request.name).map(String) });
        }
        return { ready: manager.isReady(request.name, version) };
      }),
    ),

    modelMetadata: unary((request: kserve.ModelMetadataRequest, requestId) =>
      observeModelCall(ctx, { api: 'KServe', interface: 'gRPC', method: 'ModelMetadata', model: request.name, version: request.version, requestId }, () => {
        const lease = manager.acquire(request.name, parseVersion(request.name, request.version));
        try {
          const m = lease.model;
          const meta = (t: { name: string; datatype: string; shape: readonly number[] }) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt) });
          return {
            name: m.name,
            versions: manager.availableVersions(m.name).map(String),
            platform: PLATFORM,
            inputs: m.inputs.map(meta),
            outputs: m.outputs.map(meta),
            properties: {},
          };
        } finally {
          lease.release();
        }
      }),
    ),

    modelInfer: unary((request: kserve.ModelInferRequest, requestId) => infer(request, 'ModelInfer', requestId)),

    modelStreamInfer(call: ServerDuplexStream<kserve.ModelInferRequest, kserve.ModelStreamInferResponse>) {
      // requests run concurrently; responses are written in request order so clients can pair them up
      let tail: Promise<void> = Promise.resolve();
      let ended = false;
      const requestId = requestIdOf(call.metadata);
      call.on('data', (request: kserve.ModelInferRequest) => {
        const work = isMalformed(request) ? Promise.reject(malformedError(request)) : infer(request, 'ModelStreamInfer', requestId);
        const response = work.then(
          (inferResponse): kserve.ModelStreamInferResponse => ({ errorMessage: '', inferResponse }),
          // the id comes back with the error so a client can pair it with its request
          (err: unknown): kserve.ModelStreamInferResponse => ({
            errorMessage: toBgError(err).message,
            inferResponse: isMalformed(request)
              ? undefined
              : { modelName: request.modelName, modelVersion: request.modelVersion, id: request.id, parameters: {}, outputs: [], rawOutputContents: [] },
          }),
        );
        tail = tail.then(async () => {
          const message = await response;
          if (!call.cancelled && !call.writableEnded) call.write(message);
        });
      });
      call.on('end', () => {
        ended = true;
        void tail.then(() => {
          if (!call.writableEnded) call.end();
        });
      });
      call.on('error', () => undefined);
      call.on('cancelled', () => {
        if (!ended) ctx.logger.debug({ method: 'ModelStreamInfer' }, 'stream cancelled by the client');
      });
    },
  };
}
