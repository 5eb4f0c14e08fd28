import type { ImageDtype, NumericDtype, TensorDtype } from './dtypes';
import type { BackendProtocol, SignatureEngine } from './engines';

// The bundle-signature.yaml shapes as written (schemas/bundle-signature.schema.json is their twin).

export const INPUT_TYPE_IDS = ['Image', 'Quad', 'Scalar', 'Tensor'] as const;
export type InputTypeId = (typeof INPUT_TYPE_IDS)[number];
export const OUTPUT_TYPE_IDS = ['MaxClassification', 'GridEmbedding', 'Tensor'] as const;
export type OutputTypeId = (typeof OUTPUT_TYPE_IDS)[number];

/** One number for every channel, or one per channel in `channelOrder` order. */
export type ChannelValues = number | readonly [number, number, number];

export interface DecodeJpegParams {
  /** NCHW when true, NHWC when false (default false). */
  channelFirstRaster?: boolean;
  channelOrder?: 'RGB' | 'BGR';
  resize?: { height: number; width: number };
}

export interface ImageInputParams {
  imageInputKey: string;
  /** Decode in the proxy and send pixels; without it the encoded bytes are sent as BYTES. */
  decodeJpeg?: DecodeJpegParams;
  dtype?: ImageDtype;
  /** value = (pixel * scale - mean) / std, per channel. */
  mean?: ChannelValues;
  std?: ChannelValues;
  scale?: ChannelValues;
  maxPixels?: number;
}

export interface QuadInputParams {
  quadInputKey: string;
  dtype?: NumericDtype;
  shape?: number[];
}

export interface ScalarInputParams {
  scalarInputKey: string;
  dtype?: NumericDtype;
  shape?: number[];
}

export interface TensorInputParams {
  tensorInputKey: string;
  dtype?: TensorDtype;
  shape?: number[];
}

export type InputEntry =
  | { typeId: 'Image'; name?: string; params: ImageInputParams }
  | { typeId: 'Quad'; name?: string; params: QuadInputParams }
  | { typeId: 'Scalar'; name?: string; params: ScalarInputParams }
  | { typeId: 'Tensor'; name?: string; params: TensorInputParams };

export interface MaxClassificationParams {
  /** The class name tensor; with `labels`, a class index tensor. Required without `labels`. */
  classNameOutput?: string;
  /** The score tensor; with `labels` and no `classNameOutput`, a probability vector. */
  scoreOutput: string;
  labels?: string[];
}

export interface GridEmbeddingParams {
  rows: number;
  cols: number;
  numChannels: number;
  keyName: string;
  /** Element order of the backend tensor (default HWC). */
  layout?: 'HWC' | 'CHW';
}

export interface TensorOutputParams {
  keyName: string;
}

export type OutputEntry =
  | { typeId: 'MaxClassification'; name?: string; params: MaxClassificationParams }
  | { typeId: 'GridEmbedding'; name?: string; params: GridEmbeddingParams }
  | { typeId: 'Tensor'; name?: string; params: TensorOutputParams };

export interface SignatureModelEntry {
  id: string;
  backendInferenceEngine?: SignatureEngine;
  modelSgn: { inputs: InputEntry[]; outputs: OutputEntry[] };
}

export interface SignatureBundleEntry {
  backendInferenceEngine: SignatureEngine;
  models: SignatureModelEntry[];
}

/** A bundle-signature.yaml document as written. */
export interface SignatureDocument {
  models: Record<string, SignatureBundleEntry>;
}

/** Where something was written (an issue without its message). */
export interface SourceLocation {
  file: string;
  line: number;
  column: number;
  path: string;
}

/** A signature model with its engine resolved. */
export interface SignatureModel {
  id: string;
  bundleName: string;
  backendInferenceEngine: SignatureEngine;
  protocol: BackendProtocol;
  inputs: InputEntry[];
  outputs: OutputEntry[];
  location: SourceLocation;
}

export interface SignatureBundle {
  name: string;
  backendInferenceEngine: SignatureEngine;
  models: SignatureModel[];
}

/** A validated bundle-signature.yaml: bundles and models in file order. */
export interface BundleSignature {
  file: string;
  bundles: SignatureBundle[];
}
