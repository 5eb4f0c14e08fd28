import { parseVersion, type ModelStatus, type TensorSpec, type VersionState } from '@bundlegate/model-runtime';
import { tf, tfs } from '@bundlegate/protos';
import { bgError } from '@bundlegate/service-kit';
import { DATA_TYPE_TABLE, tensorsToProtoMap } from '@bundlegate/tensors';
import { unary } from './grpc-unary';
import { predictInputs } from './request-tensors';
import { observeModelCall, type ServingContext } from './serving-context';

// tensorflow.serving.PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus), as OVMS serves them.

export const DEFAULT_SIGNATURE = 'serving_default';
const PREDICT_METHOD = 'tensorflow/serving/predict';
const SIGNATURE_DEF_MAP_TYPE = 'type.googleapis.com/tensorflow.serving.SignatureDefMap';

const STATES: Readonly<Record<VersionState, tfs.ModelVersionStatus_State>> = {
  START: tfs.ModelVersionStatus_State.START,
  LOADING: tfs.ModelVersionStatus_State.LOADING,
  AVAILABLE: tfs.ModelVersionStatus_State.AVAILABLE,
  UNLOADING: tfs.ModelVersionStatus_State.UNLOADING,
  END: tfs.ModelVersionStatus_State.END,
};

/** model_spec → model name and version; labels and other signatures are not served. */
function modelOf(spec: tfs.ModelSpec | undefined): { name: string; version: number | undefined; versionText: string } {
  if (spec === undefined || spec.name === '') throw bgError('BG_INVALID_ARGUMENT', { field: 'model_spec.name', expected: 'a model name' });
  if (spec.versionLabel !== undefined && spec.versionLabel !== '') {
    throw bgError('BG_INVALID_ARGUMENT', { field: 'model_spec.version_label', expected: 'a numeric model_spec.version (labels are not supported)', got: spec.versionLabel });
  }
  if (spec.signatureName !== '' && spec.signatureName !== DEFAULT_SIGNATURE) {
    throw bgError('BG_INVALID_ARGUMENT', { field: 'model_spec.signature_name', expected: `"${DEFAULT_SIGNATURE}"`, got: spec.signatureName });
  }
  const versionText = spec.version === undefined ? '' : String(spec.version);
  return { name: spec.name, version: parseVersion(spec.name, versionText), versionText };
}

function tensorInfo(spec: TensorSpec): tf.TensorInfo {
  return {
    name: spec.name,
    dtype: DATA_TYPE_TABLE[spec.datatype].tf as tf.DataType,
    tensorShape: { dim: spec.shape.map((d) => ({ size: BigInt(d), name: '' })), unknownRank: false },
  };
}

function signatureDefMap(inputs: readonly TensorSpec[], outputs: readonly TensorSpec[]): tfs.SignatureDefMap {
  return {
    signatureDef: {
      [DEFAULT_SIGNATURE]: {
        inputs: Object.fromEntries(inputs.map((s) => [s.name, tensorInfo(s)])),
        outputs: Object.fromEntries(outputs.map((s) => [s.name, tensorInfo(s)])),
        methodName: PREDICT_METHOD,
        defaults: {},
      },
    },
  };
}

function versionStatus(status: ModelStatus, version: number | undefined, name: string): tfs.ModelVersionStatus[] {
  const versions = version === undefined ? status.versions : status.versions.filter((v) => v.version === version);
  if (version !== undefined && versions.length === 0) {
    throw bgError('BG_UNKNOWN_VERSION', { modelId: name, version: String(version), known: status.versions.map((v) => String(v.version)) });
  }
  return versions.map((v) => ({
    version: BigInt(v.version),
    state: STATES[v.state],
    status: { errorCode: v.errorCode === 'OK' ? tf.Code.OK : tf.Code.UNKNOWN, errorMessage: v.errorMessage },
  }));
}

export function predictionService(ctx: ServingContext): tfs.PredictionServiceServer {
  const { manager } = ctx;
  return {
    predict: unary((request: tfs.PredictRequest, requestId) => {
      const spec = request.modelSpec;
      return observeModelCall(
        ctx,
        { api: 'TensorFlowServing', interface: 'gRPC', method: 'Predict', model: spec?.name ?? '', version: spec?.version === undefined ? '' : String(spec.version), inference: true, requestId },
        async (tracker): Promise<tfs.PredictResponse> => {
          const { name, version } = modelOf(spec);
          manager.checkModel(name);
          const inputs = predictInputs(request);
          const result = await manager.infer({ model: name, version, inputs, outputs: request.outputFilter, moveInputs: true, onVersion: tracker.pinned });
          ctx.metrics.inference(result.model, String(result.version), result.inferenceUs);
          return {
            modelSpec: { name: result.model, version: BigInt(result.version), versionLabel: undefined, signatureName: DEFAULT_SIGNATURE },
            outputs: tensorsToProtoMap(result.outputs, 'raw'),
          };
        },
      );
    }),

    getModelMetadata: unary((request: tfs.GetModelMetadataRequest, requestId) => {
      const spec = request.modelSpec;
      return observeModelCall(
        ctx,
        { api: 'TensorFlowServing', interface: 'gRPC', method: 'GetModelMetadata', model: spec?.name ?? '', version: spec?.version === undefined ? '' : String(spec.version), requestId },
        (): tfs.GetModelMetadataResponse => {
          const { name, version } = modelOf(spec);
          const unsupported = request.metadataField.filter((f) => f !== 'signature_def');
          if (unsupported.length > 0) {
            throw bgError('BG_INVALID_ARGUMENT', { field: 'metadata_field', expected: '"signature_def"', got: unsupported.join(', ') });
          }
          const lease = manager.acquire(name, version);
          try {
            const m = lease.model;
            return {
              modelSpec: { name: m.name, version: BigInt(m.version), versionLabel: undefined, signatureName: '' },
              metadata: {
                signature_def: { typeUrl: SIGNATURE_DEF_MAP_TYPE, value: Buffer.from(tfs.SignatureDefMap.encode(signatureDefMap(m.inputs, m.outputs)).finish()) },
              },
            };
          } finally {
            lease.release();
          }
        },
      );
    }),
  };
}

export function modelService(ctx: ServingContext): tfs.ModelServiceServer {
  return {
    getModelStatus: unary((request: tfs.GetModelStatusRequest, requestId) => {
      const spec = request.modelSpec;
      return observeModelCall(
        ctx,
        { api: 'TensorFlowServing', interface: 'gRPC', method: 'GetModelStatus', model: spec?.name ?? '', version: spec?.version === undefined ? '' : String(spec.version), requestId },
        (): tfs.GetModelStatusResponse => {
          const { name, version } = modelOf(spec);
          return { modelVersionStatus: versionStatus(ctx.manager.status(name), version, name) };
        },
      );
    }),
  };
}
