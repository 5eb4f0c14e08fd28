import {
  buildPhotoFraudClassifierModel,
  PHOTO_FRAUD_CLASSES,
  PHOTO_FRAUD_CLASSIFIER_ID,
  PHOTO_FRAUD_INPUT,
  PHOTO_FRAUD_INPUT_SHAPE,
  PHOTO_FRAUD_LABEL_OUTPUT,
  PHOTO_FRAUD_SCORE_OUTPUT,
} from './photo-fraud-classifier';
import {
  buildVisualAnomalyModel,
  VISUAL_ANOMALY_ID,
  VISUAL_ANOMALY_INPUT,
  VISUAL_ANOMALY_INPUT_SHAPE,
  VISUAL_ANOMALY_OUTPUT,
  VISUAL_ANOMALY_OUTPUT_SHAPE,
} from './visual-anomaly';

/** One input or output of a model file, as onnxruntime-node reports it. */
export interface TensorInfo {
  name: string;
  type: 'float32' | 'string';
  shape: readonly number[];
  meaning: string;
}

/** A signature input/output entry in the existing model-proxy shape (`typeId` + `params`). */
export interface SignatureEntry {
  typeId: string;
  params: Record<string, unknown>;
}

/** Engines of the existing bundle-signature format that the demo mirrors. */
export type SignatureEngine = 'triton' | 'tfServing';

export interface DemoModel {
  /** The signature's bundle name (a key of `models:`). */
  bundleName: string;
  id: string;
  signatureEngine: SignatureEngine;
  /** One paragraph for the README: what the graph computes. */
  summary: string;
  inputs: readonly TensorInfo[];
  outputs: readonly TensorInfo[];
  signatureInputs: readonly SignatureEntry[];
  signatureOutputs: readonly SignatureEntry[];
  /** The serialised `model.onnx`; the same bytes on every call. */
  build(): Uint8Array;
}

export const VISUAL_ANOMALY: DemoModel = {
  bundleName: 'visual-anomaly',
  id: VISUAL_ANOMALY_ID,
  signatureEngine: 'triton',
  summary:
    'Patch-embedding grid: normalise with ImageNet mean/std → Conv 3→48 (3×3) → ReLU → MaxPool 4×4 → ' +
    'Conv 48→768 (4×4, stride 4) → Transpose to NHWC. Each of the 14 × 14 cells embeds one 16 × 16 pixel patch ' +
    'of the 224 × 224 input. The proxy decodes and resizes the upload (decodeJpeg), so the backend gets NCHW floats.',
  inputs: [{ name: VISUAL_ANOMALY_INPUT, type: 'float32', shape: VISUAL_ANOMALY_INPUT_SHAPE, meaning: 'RGB, NCHW, values 0..255' }],
  outputs: [{ name: VISUAL_ANOMALY_OUTPUT, type: 'float32', shape: VISUAL_ANOMALY_OUTPUT_SHAPE, meaning: 'rows × cols × channels embedding grid' }],
  signatureInputs: [
    {
      typeId: 'Image',
      params: {
        imageInputKey: VISUAL_ANOMALY_INPUT,
        decodeJpeg: {
          channelFirstRaster: true,
          channelOrder: 'RGB',
          resize: { height: VISUAL_ANOMALY_INPUT_SHAPE[2], width: VISUAL_ANOMALY_INPUT_SHAPE[3] },
        },
      },
    },
  ],
  signatureOutputs: [
    {
      typeId: 'GridEmbedding',
      params: {
        rows: VISUAL_ANOMALY_OUTPUT_SHAPE[1],
        cols: VISUAL_ANOMALY_OUTPUT_SHAPE[2],
        numChannels: VISUAL_ANOMALY_OUTPUT_SHAPE[3],
        keyName: VISUAL_ANOMALY_OUTPUT,
      },
    },
  ],
  build: buildVisualAnomalyModel,
};

export const PHOTO_FRAUD_CLASSIFIER: DemoModel = {
  bundleName: 'photo-fraud-classifier',
  id: PHOTO_FRAUD_CLASSIFIER_ID,
  signatureEngine: 'tfServing',
  summary:
    'Two-class classifier: scale 0..255 to 0..1 → Conv 3→8 (3×3, stride 2) → ReLU → global average pool → ' +
    `Gemm 8→2 → Softmax; \`${PHOTO_FRAUD_LABEL_OUTPUT}\` is the argmax class name (${PHOTO_FRAUD_CLASSES.map((c) => `\`${c}\``).join(', ')}) ` +
    `and \`${PHOTO_FRAUD_SCORE_OUTPUT}\` its probability. The signature has no decodeJpeg, so the encoded image bytes ` +
    'reach the backend, which decodes and resizes them to the model input (as OVMS does for binary inputs).',
  inputs: [{ name: PHOTO_FRAUD_INPUT, type: 'float32', shape: PHOTO_FRAUD_INPUT_SHAPE, meaning: 'RGB, NHWC, values 0..255' }],
  outputs: [
    { name: PHOTO_FRAUD_LABEL_OUTPUT, type: 'string', shape: [1], meaning: 'argmax class name' },
    { name: PHOTO_FRAUD_SCORE_OUTPUT, type: 'float32', shape: [1], meaning: 'its softmax probability' },
  ],
  signatureInputs: [{ typeId: 'Image', params: { imageInputKey: PHOTO_FRAUD_INPUT } }],
  signatureOutputs: [
    { typeId: 'MaxClassification', params: { classNameOutput: PHOTO_FRAUD_LABEL_OUTPUT, scoreOutput: PHOTO_FRAUD_SCORE_OUTPUT } },
  ],
  build: buildPhotoFraudClassifierModel,
};

/** The demo bundle's models, in signature order. */
export const DEMO_MODELS: readonly DemoModel[] = [VISUAL_ANOMALY, PHOTO_FRAUD_CLASSIFIER];
