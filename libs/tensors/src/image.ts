import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { formatValue } from './dtype';
import { numberToFp16 } from './float16';
import type { TensorOf } from './tensor';
import { checkedTensor } from './tensor-impl';

/** Where the channel axis goes; the three-letter forms have no leading batch dim. */
export type ImageLayout = 'NCHW' | 'NHWC' | 'CHW' | 'HWC';
export type ImageChannelOrder = 'RGB' | 'BGR';
export type ImageTensorDataType = 'FP32' | 'FP16' | 'UINT8';
/** sharp's resize fits: 'fill' stretches to exactly height × width, ignoring aspect ratio. */
export type ImageResizeFit = 'fill' | 'cover' | 'contain' | 'inside' | 'outside';
export type ImageResizeKernel = 'nearest' | 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
/** sharp `metadata().format` names. */
export type ImageFormat = 'jpeg' | 'png' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heif';

export interface ImageResize {
  readonly height: number;
  readonly width: number;
  /** Default 'fill' (stretch, as `PIL.Image.resize((w, h))` does). 'contain' pads with black. */
  readonly fit?: ImageResizeFit;
  /** Default 'lanczos3' (sharp's default). */
  readonly kernel?: ImageResizeKernel;
}

/** A number applies to every channel; an array gives one value per channel in the OUTPUT channel order. */
export type PerChannel = number | readonly [number, number, number];

export interface ImageToTensorOptions {
  /** Tensor name. */
  readonly name?: string;
  /** Resize to exactly this size (with 'fill'); without it the tensor has the image's own size. */
  readonly resize?: ImageResize;
  /** Default 'RGB'. */
  readonly channelOrder?: ImageChannelOrder;
  /** Default 'NHWC'. */
  readonly layout?: ImageLayout;
  /** Default 'FP32'. UINT8 keeps pixel values and takes no scale/mean/std. */
  readonly dtype?: ImageTensorDataType;
  /** Each value becomes (pixel × scale − mean) / std, per channel. Defaults 1, 0, 1. */
  readonly scale?: PerChannel;
  readonly mean?: PerChannel;
  readonly std?: PerChannel;
  /** Largest width × height accepted, checked on the header before decoding. Default DEFAULT_MAX_IMAGE_PIXELS. */
  readonly maxPixels?: number;
  /** Accepted input formats. Default ['jpeg', 'png', 'webp']. */
  readonly formats?: readonly ImageFormat[];
  /** Apply the EXIF orientation, as phone photos need. Default true. */
  readonly autoOrient?: boolean;
}

/** 40 megapixels: above any phone camera, and the decoded RGB (120 MB) still fits comfortably in a service. */
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;

const DEFAULT_FORMATS: readonly ImageFormat[] = ['jpeg', 'png', 'webp'];

export type ImageDecodeReason = 'empty' | 'unsupported-format' | 'corrupt';

/** The input is not a decodable image of an accepted format: a client error (HTTP 400). */
export class ImageDecodeError extends Error {
  override readonly name = 'ImageDecodeError';
  constructor(
    readonly reason: ImageDecodeReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The image header declares more pixels than allowed: a client error (HTTP 413). */
export class ImageTooLargeError extends Error {
  override readonly name = 'ImageTooLargeError';
  readonly pixels: number;
  constructor(
    readonly width: number,
    readonly height: number,
    readonly limit: number,
  ) {
    super(`image is ${width}×${height} = ${width * height} pixels; the limit is ${limit}`);
    this.pixels = width * height;
  }
}

/** The options with every default filled in. */
export interface ResolvedImageOptions {
  readonly name: string | undefined;
  readonly resize: Required<ImageResize> | undefined;
  readonly channelOrder: ImageChannelOrder;
  readonly layout: ImageLayout;
  readonly dtype: ImageTensorDataType;
  readonly scale: readonly number[];
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly maxPixels: number;
  readonly formats: readonly ImageFormat[];
  readonly autoOrient: boolean;
}

export interface ImageDecoder {
  readonly options: ResolvedImageOptions;
  /** Encoded JPEG/PNG/WebP → tensor in one sharp pipeline and one pass over the pixels. */
  decode(input: Uint8Array): Promise<TensorOf<ImageTensorDataType>>;
  /** Output shape for an image of this decoded size. */
  shapeFor(height: number, width: number): number[];
}

const LAYOUTS: readonly ImageLayout[] = ['NCHW', 'NHWC', 'CHW', 'HWC'];
const ORDERS: readonly ImageChannelOrder[] = ['RGB', 'BGR'];
const DTYPES: readonly ImageTensorDataType[] = ['FP32', 'FP16', 'UINT8'];
const FITS: readonly ImageResizeFit[] = ['fill', 'cover', 'contain', 'inside', 'outside'];
const KERNELS: readonly ImageResizeKernel[] = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'];
const CHANNELS = 3;

/** Decodes one image with `options`; prefer createImageDecoder when the options are reused. */
export function imageToTensor(
  input: Uint8Array,
  options: ImageToTensorOptions = {},
): Promise<TensorOf<ImageTensorDataType>> {
  return createImageDecoder(options).decode(input);
}

/**
 * Checks the options once and precomputes, per channel, the output value of each of the 256 pixel values, so the
 * per-pixel work is a table lookup and a store.
 */
export function createImageDecoder(options: ImageToTensorOptions = {}): ImageDecoder {
  const layout = oneOf('layout', options.layout ?? 'NHWC', LAYOUTS);
  const channelOrder = oneOf('channelOrder', options.channelOrder ?? 'RGB', ORDERS);
  const dtype = oneOf('dtype', options.dtype ?? 'FP32', DTYPES);
  const scale = perChannel('scale', options.scale ?? 1);
  const mean = perChannel('mean', options.mean ?? 0);
  const std = perChannel('std', options.std ?? 1);
  if (std.some((s) => s === 0)) throw new RangeError('std must not be 0');
  const normalizes = scale.some((s) => s !== 1) || mean.some((m) => m !== 0) || std.some((s) => s !== 1);
  if (dtype === 'UINT8' && normalizes) {
    throw new TypeError('UINT8 image tensors hold pixel values as decoded; scale/mean/std need FP32 or FP16');
  }
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  if (!Number.isSafeInteger(maxPixels) || maxPixels < 1) {
    throw new RangeError(`maxPixels must be a positive integer, got ${formatValue(maxPixels)}`);
  }
  const formats = options.formats ?? DEFAULT_FORMATS;
  const autoOrient = options.autoOrient ?? true;
  const resize = options.resize === undefined ? undefined : checkResize(options.resize);
  const name = options.name;

  const lut = buildLookup(dtype, scale, mean, std);
  // source channel (in sharp's RGB output) feeding each output channel
  const source = channelOrder === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const channelsFirst = layout === 'NCHW' || layout === 'CHW';
  const batched = layout === 'NCHW' || layout === 'NHWC';

  const shapeFor = (height: number, width: number): number[] => {
    const dims = channelsFirst ? [CHANNELS, height, width] : [height, width, CHANNELS];
    return batched ? [1, ...dims] : dims;
  };

  const decode = async (input: Uint8Array): Promise<TensorOf<ImageTensorDataType>> => {
    const { pixels, height, width } = await decodePixels(input, { maxPixels, formats, autoOrient, resize });
    const shape = shapeFor(height, width);
    if (dtype === 'UINT8' && channelOrder === 'RGB' && !channelsFirst) {
      // sharp's raw output already is HWC RGB bytes: hand it over without a copy
      return checkedTensor('UINT8', shape, new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length), name);
    }
    const out = lut.make(height * width * CHANNELS);
    fillPlanes(pixels, out, lut.table, source, height * width, channelsFirst);
    return checkedTensor(dtype, shape, out, name) as TensorOf<ImageTensorDataType>;
  };

  return {
    options: { name, resize, channelOrder, layout, dtype, scale, mean, std, maxPixels, formats, autoOrient },
    decode,
    shapeFor,
  };
}

interface DecodeSettings {
  readonly maxPixels: number;
  readonly formats: readonly ImageFormat[];
  readonly autoOrient: boolean;
  readonly resize: Required<ImageResize> | undefined;
}

/** The format a file's first bytes announce, for the formats whose signature is fixed; undefined otherwise. */
export function sniffImageFormat(input: Uint8Array): ImageFormat | undefined {
  const at = (offset: number, bytes: readonly number[]): boolean => bytes.every((b, i) => input[offset + i] === b);
  if (at(0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (at(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (at(0, [0x52, 0x49, 0x46, 0x46]) && at(8, [0x57, 0x45, 0x42, 0x50])) return 'webp';
  if (at(0, [0x47, 0x49, 0x46, 0x38])) return 'gif';
  return undefined;
}

/**
 * One sharp pipeline to 8-bit sRGB HWC pixels, its pixel limit checked by sharp from the header before decoding.
 * The header is read apart (sharp metadata, a second pass through the thread pool) only when the first bytes do not
 * announce an accepted format or the decode fails, to say exactly why.
 */
async function decodePixels(
  input: Uint8Array,
  settings: DecodeSettings,
): Promise<{ pixels: Buffer; height: number; width: number }> {
  if (input.byteLength === 0) throw new ImageDecodeError('empty', 'image is empty (0 bytes)');
  const sniffed = sniffImageFormat(input);
  if (sniffed === undefined || !settings.formats.includes(sniffed)) {
    await checkHeader(input, settings);
  }
  let pipeline = sharp(input, { limitInputPixels: settings.maxPixels, autoOrient: settings.autoOrient });
  if (settings.resize !== undefined) pipeline = pipeline.resize(settings.resize);
  pipeline = pipeline.removeAlpha().toColourspace('srgb').raw({ depth: 'uchar' });
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (error) {
    // why: not an image, a format not accepted, too many pixels (all from the header), or a corrupt body
    const format = await checkHeader(input, settings);
    throw new ImageDecodeError('corrupt', `${format} image could not be decoded: ${errorMessage(error)}`, { cause: error });
  }
  const { data, info } = decoded;
  if (info.channels !== CHANNELS || data.length !== info.width * info.height * CHANNELS) {
    const format = sniffed ?? 'image';
    throw new ImageDecodeError(
      'corrupt',
      `${format} image could not be decoded: decoded ${info.channels} channels, ${data.length} bytes for ${info.width}×${info.height}`,
    );
  }
  return { pixels: data, height: info.height, width: info.width };
}

/** The header alone: throws unless it is a decodable image of an accepted format within the pixel limit. */
async function checkHeader(input: Uint8Array, settings: DecodeSettings): Promise<ImageFormat> {
  let metadata: Metadata;
  try {
    // header only: an unlimited instance so the dimensions can be reported, nothing is decoded yet
    metadata = await sharp(input).metadata();
  } catch (error) {
    throw new ImageDecodeError('unsupported-format', `not a decodable image: ${errorMessage(error)}`, { cause: error });
  }
  if (!(settings.formats as readonly string[]).includes(metadata.format)) {
    throw new ImageDecodeError(
      'unsupported-format',
      `image format ${metadata.format} is not accepted; expected one of ${settings.formats.join(', ')}`,
    );
  }
  const { width, height } = metadata;
  if (width * height > settings.maxPixels) throw new ImageTooLargeError(width, height, settings.maxPixels);
  return metadata.format as ImageFormat;
}

interface Lookup {
  readonly table: Float32Array | Uint16Array | Uint8Array;
  make(length: number): Float32Array | Uint16Array | Uint8Array;
}

/** table[c * 256 + v] = output value of pixel value v in output channel c. */
function buildLookup(
  dtype: ImageTensorDataType,
  scale: readonly number[],
  mean: readonly number[],
  std: readonly number[],
): Lookup {
  const value = (c: number, v: number): number => (v * (scale[c] as number) - (mean[c] as number)) / (std[c] as number);
  if (dtype === 'UINT8') {
    const table = new Uint8Array(CHANNELS * 256);
    for (let c = 0; c < CHANNELS; c++) for (let v = 0; v < 256; v++) table[c * 256 + v] = v;
    return { table, make: (n) => new Uint8Array(n) };
  }
  if (dtype === 'FP16') {
    const table = new Uint16Array(CHANNELS * 256);
    for (let c = 0; c < CHANNELS; c++) for (let v = 0; v < 256; v++) table[c * 256 + v] = numberToFp16(value(c, v));
    return { table, make: (n) => new Uint16Array(n) };
  }
  const table = new Float32Array(CHANNELS * 256);
  for (let c = 0; c < CHANNELS; c++) for (let v = 0; v < 256; v++) table[c * 256 + v] = value(c, v);
  return { table, make: (n) => new Float32Array(n) };
}

/** The single pass: HWC RGB bytes → output layout and channel order, through the lookup table. */
function fillPlanes(
  pixels: Uint8Array,
  out: Float32Array | Uint16Array | Uint8Array,
  table: Float32Array | Uint16Array | Uint8Array,
  source: readonly number[],
  area: number,
  channelsFirst: boolean,
): void {
  const s0 = source[0] as number;
  const s1 = source[1] as number;
  const s2 = source[2] as number;
  if (channelsFirst) {
    const plane1 = area;
    const plane2 = 2 * area;
    for (let i = 0, p = 0; i < area; i++, p += 3) {
      out[i] = table[pixels[p + s0] as number] as number;
      out[plane1 + i] = table[256 + (pixels[p + s1] as number)] as number;
      out[plane2 + i] = table[512 + (pixels[p + s2] as number)] as number;
    }
  } else {
    for (let p = 0; p < area * 3; p += 3) {
      out[p] = table[pixels[p + s0] as number] as number;
      out[p + 1] = table[256 + (pixels[p + s1] as number)] as number;
      out[p + 2] = table[512 + (pixels[p + s2] as number)] as number;
    }
  }
}

function oneOf<T extends string>(what: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) {
    throw new TypeError(`${what} ${formatValue(value)} is not one of ${allowed.join(', ')}`);
  }
  return value;
}

function perChannel(what: string, value: PerChannel): number[] {
  const values = typeof value === 'number' ? [value, value, value] : Array.isArray(value) ? [...value] : undefined;
  if (
    values === undefined ||
    values.length !== CHANNELS ||
    !values.every((v) => typeof v === 'number' && Number.isFinite(v))
  ) {
    throw new TypeError(`${what} must be a finite number or ${CHANNELS} finite numbers, got ${formatValue(value)}`);
  }
  return values;
}

function checkResize(resize: ImageResize): Required<ImageResize> {
  for (const key of ['height', 'width'] as const) {
    const v = resize[key];
    if (!Number.isSafeInteger(v) || v < 1)
      throw new RangeError(`resize.${key} must be a positive integer, got ${formatValue(v)}`);
  }
  return {
    height: resize.height,
    width: resize.width,
    fit: oneOf('resize.fit', resize.fit ?? 'fill', FITS),
    kernel: oneOf('resize.kernel', resize.kernel ?? 'lanczos3', KERNELS),
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
