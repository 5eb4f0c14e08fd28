import { bgError } from '@bundlegate/service-kit';
import {
  DEFAULT_MAX_IMAGE_PIXELS,
  ImageDecodeError,
  ImageTooLargeError,
  createImageDecoder,
  formatShape,
  type ImageDecoder,
  type ImageLayout,
  type ImageTensorDataType,
  type Tensor,
  type TypedArray,
} from '@bundlegate/tensors';
import { toOrtValue, type OrtValue } from './ort-values';
import { describeSpec, shapeMatches, type TensorSpec } from './tensor-spec';

// Request tensors → feeds for one model: names, datatypes and shapes checked against what the model
// declares, and encoded images (BYTES) decoded for image-shaped inputs the way OVMS treats binary inputs.

const IMAGE_DTYPES: readonly string[] = ['FP32', 'FP16', 'UINT8'] satisfies ImageTensorDataType[];
const CHANNELS = 3;

/** How an image-shaped input lays out its pixels, read off its declared shape. */
export interface ImageInputLayout {
  readonly layout: Extract<ImageLayout, 'NHWC' | 'NCHW'>;
  /** Fixed size to resize to; -1 where the model takes any size (the image keeps its own). */
  readonly height: number;
  readonly width: number;
  /** Fixed batch size, or -1. */
  readonly batch: number;
}

/**
 * A 4-D FP32/FP16/UINT8 input with 3 channels last (NHWC) or second (NCHW) takes encoded images.
 * When both would fit ([N,3,H,3]), channels last wins, as OVMS's default layout is NHWC.
 */
export function imageInputLayout(spec: TensorSpec): ImageInputLayout | undefined {
  if (spec.shape.length !== 4 || !IMAGE_DTYPES.includes(spec.datatype)) return undefined;
  const [n, d1, d2, d3] = spec.shape as [number, number, number, number];
  if (d3 === CHANNELS) return { layout: 'NHWC', batch: n, height: d1, width: d2 };
  if (d1 === CHANNELS) return { layout: 'NCHW', batch: n, height: d2, width: d3 };
  return undefined;
}

export interface InputBinderOptions {
  /** Largest decoded image accepted, in pixels (width × height). */
  readonly maxImagePixels?: number;
}

export interface BindOptions {
  /** The caller hands the tensors' data over: buffers they own whole may be moved to a worker thread instead of copied. */
  readonly move?: boolean;
}

export interface InputBinder {
  readonly inputs: readonly TensorSpec[];
  /** Checks `tensors` against the model's inputs and returns one feed per input, in declared order. */
  bind(tensors: readonly Tensor[], options?: BindOptions): Promise<OrtValue[]>;
}

interface ImageInput {
  readonly layout: ImageInputLayout;
  readonly decoder: ImageDecoder;
}

export function createInputBinder(inputs: readonly TensorSpec[], options: InputBinderOptions = {}): InputBinder {
  const maxPixels = options.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const byName = new Map(inputs.map((spec) => [spec.name, spec]));
  const images = new Map<string, ImageInput>();
  for (const spec of inputs) {
    const layout = imageInputLayout(spec);
    if (layout === undefined) continue;
    const resize = layout.height > 0 && layout.width > 0 ? { height: layout.height, width: layout.width } : undefined;
    // OVMS feeds decoded pixels as they are (0..255, RGB): the model does its own normalisation
    const decoder = createImageDecoder({
      name: spec.name,
      layout: layout.layout,
      dtype: spec.datatype as ImageTensorDataType,
      channelOrder: 'RGB',
      maxPixels,
      ...(resize ? { resize } : {}),
    });
    images.set(spec.name, { layout, decoder });
  }
  const expectedNames = `inputs ${inputs.map((s) => JSON.stringify(s.name)).join(', ')}`;

  const bindOne = async (spec: TensorSpec, tensor: Tensor, move: boolean): Promise<OrtValue> => {
    if (tensor.datatype === 'BYTES' && spec.datatype !== 'BYTES') {
      const image = images.get(spec.name);
      if (image === undefined) {
        throw bgError('BG_INVALID_DTYPE', { field: spec.name, expected: `${spec.datatype} (encoded images are accepted only by image-shaped inputs)`, got: 'BYTES' });
      }
      // decoded here, so nobody else holds the pixels
      return toOrtValue(spec.name, await decodeImages(spec, image, tensor as Tensor<'BYTES'>), true);
    }
    if (tensor.datatype !== spec.datatype) {
      throw bgError('BG_INVALID_DTYPE', { field: spec.name, expected: spec.datatype, got: tensor.datatype });
    }
    if (!shapeMatches(spec.shape, tensor.shape)) {
      throw bgError('BG_INVALID_SHAPE', { field: spec.name, expected: describeShape(spec.shape), got: [...tensor.shape] });
    }
    return toOrtValue(spec.name, tensor, move);
  };

  return {
    inputs,
    async bind(tensors, bindOptions = {}) {
      const given = new Map<string, Tensor>();
      for (const tensor of tensors) {
        const name = tensor.name ?? '';
        if (!byName.has(name)) throw bgError('BG_UNEXPECTED_INPUT', { field: name, expected: expectedNames });
        if (given.has(name)) throw bgError('BG_INVALID_ARGUMENT', { field: `input ${JSON.stringify(name)}`, expected: 'each input given once', got: 'twice' });
        given.set(name, tensor);
      }
      for (const spec of inputs) {
        if (!given.has(spec.name)) throw bgError('BG_MISSING_INPUT', { field: spec.name, expected: describeSpec(spec) });
      }
      return Promise.all(inputs.map((spec) => bindOne(spec, given.get(spec.name) as Tensor, bindOptions.move === true)));
    },
  };
}

/** "[1,3,224,224]", or with "-1 = any size" appended when a dim is dynamic. */
function describeShape(shape: readonly number[]): string {
  return shape.includes(-1) ? `${formatShape(shape)} (-1 = any size)` : formatShape(shape);
}

/** N encoded images → one [N,H,W,3] / [N,3,H,W] tensor of the input's datatype. */
async function decodeImages(spec: TensorSpec, image: ImageInput, tensor: Tensor<'BYTES'>): Promise<Tensor> {
  const { layout, decoder } = image;
  const count = tensor.data.length;
  if (tensor.shape.length !== 1 || count === 0 || (layout.batch !== -1 && count !== layout.batch)) {
    const n = layout.batch === -1 ? 'N' : String(layout.batch);
    throw bgError('BG_INVALID_SHAPE', {
      field: spec.name,
      expected: `${describeSpec(spec)}, or BYTES [${n}] holding ${n === '1' ? 'one encoded image' : `${n} encoded images`}`,
      got: [...tensor.shape],
    });
  }
  const decoded = await Promise.all(
    tensor.data.map(async (bytes, i) => {
      try {
        return await decoder.decode(bytes);
      } catch (err) {
        const field = count === 1 ? spec.name : `${spec.name}[${i}]`;
        if (err instanceof ImageTooLargeError) {
          throw bgError('BG_IMAGE_TOO_LARGE', { field, width: err.width, height: err.height, maxPixels: err.limit }, { cause: err });
        }
        if (err instanceof ImageDecodeError) throw bgError('BG_IMAGE_DECODE', { field, reason: err.message }, { cause: err });
        throw err;
      }
    }),
  );
  const first = decoded[0] as Tensor;
  if (count === 1) return { name: spec.name, datatype: first.datatype, shape: first.shape, data: first.data };
  for (let i = 1; i < count; i++) {
    const shape = (decoded[i] as Tensor).shape;
    if (formatShape(shape) !== formatShape(first.shape)) {
      throw bgError('BG_INVALID_SHAPE', {
        field: `${spec.name}[${i}]`,
        expected: `the size of image 0 (${formatShape(first.shape)}): images of one batch must match`,
        got: [...shape],
      });
    }
  }
  const per = (first.data as TypedArray).length;
  const Ctor = (first.data as TypedArray).constructor as new (n: number) => TypedArray;
  const data = new Ctor(per * count);
  decoded.forEach((t, i) => (data as unknown as { set(a: ArrayLike<number>, o: number): void }).set(t.data as ArrayLike<number>, i * per));
  return { name: spec.name, datatype: first.datatype, shape: [count, ...first.shape.slice(1)], data } as Tensor;
}
