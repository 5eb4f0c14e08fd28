import { Client, credentials, Metadata, status, type ChannelCredentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import type { ModelIoPlan } from '@bundlegate/bundle';
import { health, kserve, tfs } from '@bundlegate/protos';
import { BgError, bgError, fromGrpcError, REQUEST_ID_HEADER } from '@bundlegate/service-kit';
import { fromModelInferResponse, fromPredictResponse, toModelInferRequest, toPredictRequest, type AnyTensor } from '@bundlegate/tensors';
import { tensorsByName, type InferCall, type InferenceBackend } from './backend';
import { serializeModelInferRequest, serializePredictRequest } from './wire-encoding';

/** Trailer marking errors the gateway made itself, not the backend (DESIGN.md). */
export const GATEWAY_ERROR_TRAILER = 'x-gateway-error';

/** The routing metadata key the gateway reads (DESIGN.md). */
export const MODEL_ID_METADATA = 'model-id';

export interface GatewayTls {
  /** PEM CA bundle to verify the gateway with; the system roots when absent. */
  readonly ca?: Buffer;
  /** PEM client certificate and key, for mutual TLS. */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Name to verify the gateway's certificate against, when it differs from the host dialled. */
  readonly serverName?: string;
}

export interface GatewayBackendOptions {
  /** host:port of the gateway (or of a single serving container). */
  readonly target: string;
  /** TLS to the gateway; plaintext when absent. */
  readonly tls?: GatewayTls;
  /** Largest gRPC message sent or received, in bytes. */
  readonly maxMessageBytes: number;
}

const KSERVE = '/inference.GRPCInferenceService';
const TFS_PREDICT = '/tensorflow.serving.PredictionService/Predict';
const TFS_MODEL_STATUS = '/tensorflow.serving.ModelService/GetModelStatus';
const HEALTH_CHECK = '/grpc.health.v1.Health/Check';

function channelCredentials(tls: GatewayTls | undefined): ChannelCredentials {
  if (tls === undefined) return credentials.createInsecure();
  return credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null);
}

function serialize<T>(fns: { encode(message: T): { finish(): Uint8Array } }): (message: T) => Buffer {
  return (message) => {
    const bytes = fns.encode(message).finish();
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserialize<T>(fns: { decode(input: Uint8Array): T }): (bytes: Buffer) => T {
  return (bytes) => fns.decode(bytes);
}

/** KServe v2 / TF Serving Predict over one gRPC channel to the gateway, which routes each call by `model-id`. */
export class GatewayBackend implements InferenceBackend {
  readonly kind = 'gateway';
  private readonly client: Client;

  constructor(options: GatewayBackendOptions) {
    const channelOptions: ChannelOptions = {
      'grpc.max_send_message_length': options.maxMessageBytes,
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      // large tensors: a bigger initial window avoids a round trip per 64 KiB
      'grpc-node.flow_control_window': 8 * 1024 * 1024,
    };
    if (options.tls?.serverName !== undefined) channelOptions['grpc.ssl_target_name_override'] = options.tls.serverName;
    this.client = new Client(options.target, channelCredentials(options.tls), channelOptions);
  }

  async infer(call: InferCall): Promise<Map<string, AnyTensor>> {
    const { model } = call;
    if (model.protocol === 'tfs-predict') {
      const request = toPredictRequest({ modelName: model.modelId, inputs: call.inputs, outputFilter: call.outputs });
      const response = await this.unary(TFS_PREDICT, serializePredictRequest, deserialize(tfs.PredictResponse), request, call);
      return tensorsByName(fromPredictResponse(response));
    }
    const request = toModelInferRequest({ modelName: model.modelId, id: call.requestId, inputs: call.inputs, outputs: call.outputs });
    const response = await this.unary(`${KSERVE}/ModelInfer`, serializeModelInferRequest, deserialize(kserve.ModelInferResponse), request, call);
    return tensorsByName(fromModelInferResponse(response));
  }

  /**
   * grpc.health.v1 Check of the gateway itself. A router that only forwards by model-id (nginx, Bundlegate's gateway)
   * answers it with its own error: it is up, and the per-model checks, which go through it, tell whether it routes.
   */
  async ready(deadline: number): Promise<boolean> {
    try {
      const response = await this.unary(HEALTH_CHECK, serialize(health.HealthCheckRequest), deserialize(health.HealthCheckResponse), { service: '' }, { deadline });
      return response.status === health.HealthCheckResponse_ServingStatus.SERVING;
    } catch (error) {
      const cause = (error as BgError).cause as Partial<ServiceError> | undefined;
      if (cause?.code === status.UNIMPLEMENTED || (cause?.metadata?.get(GATEWAY_ERROR_TRAILER).length ?? 0) > 0) return true;
      throw error;
    }
  }

  async modelReady(model: ModelIoPlan, deadline: number): Promise<boolean> {
    const call = { model, deadline };
    if (model.protocol === 'tfs-predict') {
      const request = { modelSpec: { name: model.modelId, signatureName: '' } };
      const response = await this.unary(TFS_MODEL_STATUS, serialize(tfs.GetModelStatusRequest), deserialize(tfs.GetModelStatusResponse), request, call);
      return response.modelVersionStatus.some((v) => v.state === tfs.ModelVersionStatus_State.AVAILABLE);
    }
    const request = { name: model.modelId, version: '' };
    const response = await this.unary(`${KSERVE}/ModelReady`, serialize(kserve.ModelReadyRequest), deserialize(kserve.ModelReadyResponse), request, call);
    return response.ready;
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private unary<Req, Res>(
    path: string,
    serializeRequest: (message: Req) => Buffer,
    deserializeResponse: (bytes: Buffer) => Res,
    request: Req,
    call: { model?: ModelIoPlan; deadline: number; requestId?: string },
  ): Promise<Res> {
    const metadata = new Metadata();
    if (call.model !== undefined) metadata.set(MODEL_ID_METADATA, call.model.modelId);
    // the same id in every service's logs
    if (call.requestId !== undefined) metadata.set(REQUEST_ID_HEADER, call.requestId);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path, serializeRequest, deserializeResponse, request, metadata, { deadline: call.deadline }, (err, response) => {
        if (err) reject(upstreamError(err, call.model?.modelId));
        else if (response === undefined) reject(upstreamError({ code: 2, details: 'empty response' }, call.model?.modelId));
        else resolve(response);
      });
    });
  }
}

/** Codes a router answers with when it cannot route: the proxy knows the model, so they are the deployment's fault. */
const ROUTING_CODES = new Set<string>(['BG_UNKNOWN_MODEL', 'BG_UNKNOWN_VERSION', 'BG_MISSING_MODEL_ID', 'BG_NOT_FOUND']);

/**
 * A failed call → a registry error keeping the upstream status and message. UNAVAILABLE and DEADLINE_EXCEEDED keep
 * their codes (503/504) and carry the upstream's words in the message; a router that cannot route a model the
 * signature lists is a 502, not the client's 404.
 */
export function upstreamError(err: Partial<ServiceError> & { code?: number }, modelId: string | undefined): BgError {
  const e = fromGrpcError(err, { modelId });
  if (ROUTING_CODES.has(e.code)) return bgError('BG_UPSTREAM_ERROR', { modelId, upstreamStatus: e.code, upstreamMessage: e.message }, { cause: err });
  if ((e.code === 'BG_UPSTREAM_UNAVAILABLE' || e.code === 'BG_UPSTREAM_TIMEOUT') && err.details) {
    return new BgError(e.code, e.details as never, { cause: err, message: `${e.message}: ${err.details}` });
  }
  return e;
}
