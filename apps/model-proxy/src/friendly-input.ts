import sharp from 'sharp';
import type { InputEntry, InputPlan } from '@bundlegate/bundle';
import { bgError, type BgError } from '@bundlegate/service-kit';
import {
  createImageDecoder,
  DATA_TYPE_TABLE,
  formatShape,
  ImageDecodeError,
  ImageTooLargeError,
  isDataType,
  tensorFromJson,
  tensorFromRaw,
  type ImageDecoder,
  type ImageTensorDataType,
  type Tensor,
} from '@bundlegate/tensors';
import { decodeBase64 } from './base64';

/** One input value as a client sent it, after its transport (JSON, multipart, gRPC) was taken off. */
export type FriendlyValue =
  | { readonly kind: 'image'; readonly bytes: Uint8Array }
  | { readonly kind: 'quad'; readonly points: readonly (readonly [number, number])[] }
  | { readonly kind: 'scalar'; readonly value: number }
  /** JSON form: data as (nested) element values, or a base64 string of the raw little-endian bytes. */
  | { readonly kind: 'tensor'; readonly datatype: string | undefined; readonly shape: unknown; readonly data: unknown }
  /** gRPC form: raw little-endian bytes (BYTES elements length-prefixed). */
  | { readonly kind: 'rawTensor'; readonly datatype: string; readonly shape: readonly number[]; readonly data: Uint8Array };

/** Accepted image container formats (sharp `metadata().format` names). */
const IMAGE_FORMATS = ['jpeg', 'png', 'webp'] as const;

export interface InputOptions {
  /** Pixel limit for images whose signature sets none. */
  readonly maxImagePixels: number;
}

/** One signature input, compiled once: its plan, what it accepts, and how a value becomes its backend tensor. */
export class ProxyInput {
  readonly key: string;
  /** What a client must send, for error messages and the OpenAPI description. */
  readonly expected: string;
  private readonly decoder: ImageDecoder | undefined;
  private readonly maxPixels: number;

  constructor(
    readonly plan: InputPlan,
    readonly entry: InputEntry,
    options: InputOptions,
  ) {
    this.key = plan.key;
    this.expected = describeExpected(plan);
    const signatureLimit = entry.typeId === 'Image' ? entry.params.maxPixels : undefined;
    this.maxPixels = signatureLimit ?? options.maxImagePixels;
    if (plan.typeId === 'Image' && plan.preprocess !== null) {
      const p = plan.preprocess;
      this.decoder = createImageDecoder({
        name: plan.tensor,
        resize: p.resize ?? undefined,
        channelOrder: p.channelOrder,
        layout: p.layout,
        dtype: plan.datatype as ImageTensorDataType,
        scale: p.scale,
        mean: p.mean,
        std: p.std,
        maxPixels: this.maxPixels,
        formats: IMAGE_FORMATS,
      });
    }
  }

  /** A JSON value (request body or multipart text part) → this input's friendly value; 4xx when malformed. */
  fromJson(value: unknown): FriendlyValue {
    switch (this.plan.typeId) {
      case 'Image': {
        if (typeof value !== 'string') throw this.wrongType(value);
        const bytes = decodeBase64(value);
        if (bytes === undefined) throw bgError('BG_BAD_BASE64', { field: this.key });
        return { kind: 'image', bytes };
      }
      case 'Quad': {
        if (!isQuad(value)) throw this.wrongType(value);
        return { kind: 'quad', points: value };
      }
      case 'Scalar':
        if (typeof value !== 'number' || !Number.isFinite(value)) throw this.wrongType(value);
        return { kind: 'scalar', value };
      case 'Tensor': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) throw this.wrongType(value);
        const t = value as Record<string, unknown>;
        if (t['datatype'] !== undefined && typeof t['datatype'] !== 'string') throw this.wrongType(value);
        return { kind: 'tensor', datatype: t['datatype'] as string | undefined, shape: t['shape'], data: t['data'] };
      }
    }
  }

  /** The friendly value → the backend tensor, named by the backend tensor name. */
  async toTensor(value: FriendlyValue): Promise<Tensor> {
    const plan = this.plan;
    switch (value.kind) {
      case 'image':
        if (plan.typeId !== 'Image') throw this.wrongKind('an image');
        return this.decoder === undefined ? this.encodedImage(value.bytes) : this.decodeImage(this.decoder, value.bytes);
      case 'quad':
        if (plan.typeId !== 'Quad') throw this.wrongKind('a quad');
        if (!isQuad(value.points)) throw this.wrongType(value.points);
        return this.fromValues(value.points.flat(), plan.shape ?? [1, 4, 2]);
      case 'scalar':
        if (plan.typeId !== 'Scalar') throw this.wrongKind('a scalar');
        if (!Number.isFinite(value.value)) throw this.wrongType(value.value);
        return this.fromValues([value.value], plan.shape ?? [1]);
      case 'tensor':
      case 'rawTensor':
        if (plan.typeId !== 'Tensor') throw this.wrongKind('a tensor');
        return this.tensorInput(value);
    }
  }

  private async decodeImage(decoder: ImageDecoder, bytes: Uint8Array): Promise<Tensor> {
    try {
      return await decoder.decode(bytes);
    } catch (error) {
      throw this.imageError(error);
    }
  }

  /** Without decodeJpeg the file goes to the backend as is; its header is still checked so junk fails here with a 4xx. */
  private async encodedImage(bytes: Uint8Array): Promise<Tensor> {
    if (bytes.byteLength === 0) throw bgError('BG_IMAGE_DECODE', { field: this.key, reason: 'image is empty (0 bytes)' });
    let format: string;
    let width: number;
    let height: number;
    try {
      ({ format, width, height } = await sharp(bytes).metadata());
    } catch (error) {
      throw bgError('BG_IMAGE_DECODE', { field: this.key, reason: errorMessage(error) }, { cause: error });
    }
    if (!(IMAGE_FORMATS as readonly string[]).includes(format)) {
      throw bgError('BG_IMAGE_DECODE', { field: this.key, reason: `image format ${format} is not accepted; expected one of ${IMAGE_FORMATS.join(', ')}` });
    }
    if (width * height > this.maxPixels) throw bgError('BG_IMAGE_TOO_LARGE', { field: this.key, width, height, maxPixels: this.maxPixels });
    return tensorFromRaw('BYTES', this.plan.shape ?? [1], encodeOneBytesElement(bytes), this.plan.tensor);
  }

  private imageError(error: unknown): BgError {
    if (error instanceof ImageTooLargeError) {
      return bgError('BG_IMAGE_TOO_LARGE', { field: this.key, width: error.width, height: error.height, maxPixels: error.limit }, { cause: error });
    }
    if (error instanceof ImageDecodeError) return bgError('BG_IMAGE_DECODE', { field: this.key, reason: error.message }, { cause: error });
    throw error;
  }

  private fromValues(values: readonly number[], shape: readonly number[]): Tensor {
    try {
      return tensorFromJson({ name: this.plan.tensor, datatype: this.plan.datatype, shape, data: values });
    } catch (error) {
      // the numbers do not fit the signature's datatype (e.g. a negative point for UINT16)
      throw bgError('BG_INVALID_INPUT_TYPE', { field: this.key, expected: this.expected, got: errorMessage(error) }, { cause: error });
    }
  }

  private tensorInput(value: Extract<FriendlyValue, { kind: 'tensor' | 'rawTensor' }>): Tensor {
    const plan = this.plan;
    const datatype = value.datatype ?? plan.datatype;
    if (!isDataType(datatype) || datatype !== plan.datatype) {
      throw bgError('BG_INVALID_DTYPE', { field: this.key, expected: plan.datatype, got: String(datatype) });
    }
    const shape = value.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw bgError('BG_INVALID_SHAPE', { field: this.key, expected: this.expectedShape(), got: describeJson(shape) });
    }
    const dims = shape as number[];
    if (plan.shape !== null && !shapeMatches(plan.shape, dims)) {
      throw bgError('BG_INVALID_SHAPE', { field: this.key, expected: this.expectedShape(), got: dims });
    }
    const raw = value.kind === 'rawTensor' ? value.data : typeof value.data === 'string' ? decodeBase64(value.data) : undefined;
    if (value.kind === 'tensor' && typeof value.data === 'string' && raw === undefined) throw bgError('BG_BAD_BASE64', { field: `${this.key}.data` });
    try {
      if (raw !== undefined) return tensorFromRaw(datatype, dims, raw, plan.tensor);
      if (!Array.isArray(value.data)) throw this.wrongType(value.data);
      return tensorFromJson({ name: plan.tensor, datatype, shape: dims, data: value.data });
    } catch (error) {
      if (error instanceof RangeError && raw !== undefined) {
        return this.badByteSize(error, dims, raw);
      }
      if (error instanceof RangeError || error instanceof TypeError) {
        throw bgError('BG_INVALID_INPUT_TYPE', { field: this.key, expected: this.expected, got: errorMessage(error) }, { cause: error });
      }
      throw error;
    }
  }

  private badByteSize(error: RangeError, shape: readonly number[], raw: Uint8Array): never {
    const size = shape.reduce((a, b) => a * b, 1);
    const elementSize = DATA_TYPE_TABLE[this.plan.datatype].byteSize;
    if (elementSize === undefined) {
      throw bgError('BG_INVALID_INPUT_TYPE', { field: this.key, expected: 'length-prefixed BYTES elements', got: errorMessage(error) }, { cause: error });
    }
    throw bgError('BG_INVALID_BYTE_SIZE', { field: this.key, expected: size * elementSize, got: raw.byteLength }, { cause: error });
  }

  private expectedShape(): string {
    return this.plan.shape === null ? 'a list of non-negative integer dims' : formatShape(this.plan.shape).replace(/-1/g, 'any');
  }

  private wrongType(value: unknown): BgError {
    return bgError('BG_INVALID_INPUT_TYPE', { field: this.key, expected: this.expected, got: describeJson(value) });
  }

  private wrongKind(got: string): BgError {
    return bgError('BG_INVALID_INPUT_TYPE', { field: this.key, expected: this.expected, got });
  }
}

/** -1 in the signature's shape matches any size. */
function shapeMatches(expected: readonly number[], got: readonly number[]): boolean {
  return expected.length === got.length && expected.every((d, i) => d === -1 || d === got[i]);
}

function isQuad(value: unknown): value is [number, number][] {
  return (
    Array.isArray(value) &&
    value.length === 4 &&
    value.every((p) => Array.isArray(p) && p.length === 2 && p.every((c) => typeof c === 'number' && Number.isFinite(c)))
  );
}

/** One BYTES element in raw form: uint32 little-endian length, then the bytes. */
function encodeOneBytesElement(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + bytes.byteLength);
  out.writeUInt32LE(bytes.byteLength, 0);
  out.set(bytes, 4);
  return out;
}

export function describeExpected(plan: InputPlan): string {
  switch (plan.typeId) {
    case 'Image':
      return 'an image: a base64 string or data: URL of a JPEG, PNG or WebP file (JSON), or a file part (multipart)';
    case 'Quad':
      return 'a quad: four [x, y] points, [[x, y], [x, y], [x, y], [x, y]]';
    case 'Scalar':
      return `a number (sent as ${plan.datatype})`;
    case 'Tensor':
      return `a tensor {"shape": ${plan.shape === null ? '[...]' : formatShape(plan.shape).replace(/-1/g, 'n')}, "data": [...]} of ${plan.datatype}`;
  }
}

/** "a string", "an array of 3 items": what a wrong value was, without echoing client data back. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? '' : 's'}`;
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return Number.isFinite(value) ? 'a number' : 'a non-finite number';
    case 'boolean':
      return 'a boolean';
    case 'object':
      return 'an object';
    case 'undefined':
      return 'nothing';
    default:
      return typeof value;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
