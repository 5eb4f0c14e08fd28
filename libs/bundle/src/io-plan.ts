import type { TensorDtype } from './dtypes';
import type { BackendProtocol, SignatureEngine } from './engines';
import { inputKey, inputTensorName } from './signature';
import type {
  BundleSignature,
  ChannelValues,
  ImageInputParams,
  InputEntry,
  OutputEntry,
  SignatureModel,
} from './signature-types';

// What the proxy does for each model, derived once from the signature. Pure JSON data: absent values are null.

export type Triple = [number, number, number];

/** How an uploaded image becomes a tensor: value = (pixel * scale - mean) / std, per channel. */
export interface ImagePreprocessPlan {
  layout: 'NCHW' | 'NHWC';
  channelOrder: 'RGB' | 'BGR';
  resize: { height: number; width: number } | null;
  scale: Triple;
  mean: Triple;
  std: Triple;
  /** Largest accepted width x height; null leaves the proxy's own limit. */
  maxPixels: number | null;
}

interface InputPlanCommon {
  /** Request key: the entry's name when given, else its backend tensor name. */
  key: string;
  name: string | null;
  /** Backend tensor this input feeds. */
  tensor: string;
  datatype: TensorDtype;
  /** Expected tensor shape (-1: any size), or null when only the request knows it. */
  shape: number[] | null;
}

export type InputPlan =
  | (InputPlanCommon & {
      typeId: 'Image';
      /** null: the encoded image bytes are sent as one BYTES element. */
      preprocess: ImagePreprocessPlan | null;
    })
  | (InputPlanCommon & { typeId: 'Quad' | 'Scalar' | 'Tensor' });

/** How raw backend outputs become one friendly output. */
export type OutputMapping =
  /** The backend returns the class name and its score. */
  | { kind: 'labelAndScore'; labelTensor: string; scoreTensor: string }
  /** The backend returns a probability vector: label = labels[argmax], score = its value. */
  | { kind: 'argmax'; scoreTensor: string; labels: string[] }
  /** The backend returns a class index and its score: label = labels[index]. */
  | { kind: 'indexedLabel'; indexTensor: string; scoreTensor: string; labels: string[] }
  /** rows x cols x channels floats, stored HWC or CHW in the backend tensor. */
  | { kind: 'grid'; tensor: string; rows: number; cols: number; channels: number; layout: 'HWC' | 'CHW' }
  /** The backend tensor as is. */
  | { kind: 'tensor'; tensor: string };

export interface OutputPlan {
  typeId: OutputEntry['typeId'];
  name: string | null;
  /** Backend tensors this output reads (the proxy requests exactly these). */
  reads: string[];
  map: OutputMapping;
}

export interface ModelIoPlan {
  modelId: string;
  bundleName: string;
  engine: SignatureEngine;
  protocol: BackendProtocol;
  inputs: InputPlan[];
  outputs: OutputPlan[];
}

export interface BundlePlan {
  name: string;
  backendInferenceEngine: SignatureEngine;
  models: ModelIoPlan[];
}

/** Every model's I/O plan, grouped like the signature (and like /api/v1/config). */
export interface SignaturePlan {
  bundles: BundlePlan[];
}

/** Default Quad tensor: one quad of four (x, y) points. */
export const QUAD_SHAPE: readonly number[] = [1, 4, 2];
/** Default Scalar tensor: a batch of one value. */
export const SCALAR_SHAPE: readonly number[] = [1];

export function planSignature(signature: BundleSignature): SignaturePlan {
  return {
    bundles: signature.bundles.map((bundle) => ({
      name: bundle.name,
      backendInferenceEngine: bundle.backendInferenceEngine,
      models: bundle.models.map(planModelIo),
    })),
  };
}

export function planModelIo(model: SignatureModel): ModelIoPlan {
  return {
    modelId: model.id,
    bundleName: model.bundleName,
    engine: model.backendInferenceEngine,
    protocol: model.protocol,
    inputs: model.inputs.map(planInput),
    outputs: model.outputs.map(planOutput),
  };
}

/** Model plans by model id. */
export function indexModelPlans(plan: SignaturePlan): Map<string, ModelIoPlan> {
  return new Map(plan.bundles.flatMap((b) => b.models.map((m): [string, ModelIoPlan] => [m.modelId, m])));
}

export function planInput(input: InputEntry): InputPlan {
  const common = { key: inputKey(input), name: input.name ?? null, tensor: inputTensorName(input) };
  switch (input.typeId) {
    case 'Image': {
      const preprocess = imagePreprocess(input.params);
      if (preprocess === null) return { typeId: 'Image', ...common, datatype: 'BYTES', shape: [1], preprocess };
      const { layout, resize } = preprocess;
      const [h, w] = resize === null ? [-1, -1] : [resize.height, resize.width];
      const shape = layout === 'NCHW' ? [1, 3, h, w] : [1, h, w, 3];
      return { typeId: 'Image', ...common, datatype: input.params.dtype ?? 'FP32', shape, preprocess };
    }
    case 'Quad':
      return { typeId: 'Quad', ...common, datatype: input.params.dtype ?? 'FP32', shape: [...(input.params.shape ?? QUAD_SHAPE)] };
    case 'Scalar':
      return { typeId: 'Scalar', ...common, datatype: input.params.dtype ?? 'FP32', shape: [...(input.params.shape ?? SCALAR_SHAPE)] };
    case 'Tensor':
      return {
        typeId: 'Tensor',
        ...common,
        datatype: input.params.dtype ?? 'FP32',
        shape: input.params.shape === undefined ? null : [...input.params.shape],
      };
  }
}

function imagePreprocess(params: ImageInputParams): ImagePreprocessPlan | null {
  const decode = params.decodeJpeg;
  if (decode === undefined) return null;
  return {
    layout: decode.channelFirstRaster === true ? 'NCHW' : 'NHWC',
    channelOrder: decode.channelOrder ?? 'RGB',
    resize: decode.resize === undefined ? null : { height: decode.resize.height, width: decode.resize.width },
    scale: triple(params.scale, 1),
    mean: triple(params.mean, 0),
    std: triple(params.std, 1),
    maxPixels: params.maxPixels ?? null,
  };
}

function triple(values: ChannelValues | undefined, fallback: number): Triple {
  if (values === undefined) return [fallback, fallback, fallback];
  if (typeof values === 'number') return [values, values, values];
  return [values[0], values[1], values[2]];
}

export function planOutput(output: OutputEntry): OutputPlan {
  const name = output.name ?? null;
  switch (output.typeId) {
    case 'MaxClassification': {
      const { classNameOutput, scoreOutput, labels } = output.params;
      if (labels === undefined) {
        if (classNameOutput === undefined) throw new TypeError('MaxClassification needs classNameOutput or labels');
        return {
          typeId: 'MaxClassification',
          name,
          reads: unique([classNameOutput, scoreOutput]),
          map: { kind: 'labelAndScore', labelTensor: classNameOutput, scoreTensor: scoreOutput },
        };
      }
      if (classNameOutput === undefined) {
        return { typeId: 'MaxClassification', name, reads: [scoreOutput], map: { kind: 'argmax', scoreTensor: scoreOutput, labels: [...labels] } };
      }
      return {
        typeId: 'MaxClassification',
        name,
        reads: unique([classNameOutput, scoreOutput]),
        map: { kind: 'indexedLabel', indexTensor: classNameOutput, scoreTensor: scoreOutput, labels: [...labels] },
      };
    }
    case 'GridEmbedding': {
      const { rows, cols, numChannels, keyName, layout } = output.params;
      return {
        typeId: 'GridEmbedding',
        name,
        reads: [keyName],
        map: { kind: 'grid', tensor: keyName, rows, cols, channels: numChannels, layout: layout ?? 'HWC' },
      };
    }
    case 'Tensor':
      return { typeId: 'Tensor', name, reads: [output.params.keyName], map: { kind: 'tensor', tensor: output.params.keyName } };
  }
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}
