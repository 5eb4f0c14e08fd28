/**
 * KServe v2 REST: JSON tensors `{name, datatype, shape, parameters?, data}` (data flat or nested, row-major) and the
 * binary data extension (a JSON header followed by raw tensor bytes, split by `Inference-Header-Content-Length`).
 */
import { tensorFromRaw, tensorToRaw } from './codec-raw';
import { formatValue, parseDataType, type DataType, type DataTypeMap } from './dtype';
import {
  bigintsToData,
  boolsToData,
  bytesToData,
  checkNumbers,
  dataToBools,
  floatsToData,
  intsToData,
  type Source,
} from './elements';
import { bf16ToNumber, fp16ToNumber, toBf16Array, toFp16Array } from './float16';
import type { AnyTensor, Tensor } from './tensor';
import {
  checkElementCount,
  checkedTensor,
  formatShape,
  parseShape,
  requireName,
  shapeSize,
  tensorLabel,
} from './tensor-impl';

/** HTTP header giving the byte length of the JSON part of a binary-data body. */
export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';
/** Tensor parameter: this tensor's data is the next `binary_data_size` bytes of the binary part. */
export const BINARY_DATA_SIZE = 'binary_data_size';
/** Requested-output parameter: return this output as binary data. */
export const BINARY_DATA = 'binary_data';
/** Request parameter: return every output as binary data unless the output says otherwise. */
export const BINARY_DATA_OUTPUT = 'binary_data_output';

export type JsonScalar = number | boolean | string;
export type JsonTensorData = (JsonScalar | JsonTensorData)[];
export type JsonParameters = Record<string, unknown>;

export interface JsonTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: JsonParameters;
  data?: JsonTensorData;
}

export interface JsonTensorOptions {
  /** Nest `data` by the shape instead of a flat row-major list. Default false. */
  readonly nested?: boolean;
}

/**
 * Tensor → JSON tensor. INT64/UINT64 elements must be safe integers, floats must be finite and BYTES must be UTF-8,
 * or a RangeError/TypeError says to use binary data instead.
 */
export function tensorToJson(tensor: Tensor, options: JsonTensorOptions = {}): JsonTensor {
  const name = requireName(tensor, 'KServe');
  const flat = jsonValues(tensor as AnyTensor);
  return {
    name,
    datatype: tensor.datatype,
    shape: [...tensor.shape],
    data: options.nested === true ? nest(flat, tensor.shape) : flat,
  };
}

/**
 * JSON tensor → Tensor, checking datatype, shape, element types, ranges and count. A tensor whose parameters carry
 * `binary_data_size` takes its data from `binary` (its slice of the binary part) instead of `data`.
 */
export function tensorFromJson(json: unknown, binary?: Uint8Array): AnyTensor {
  return parseJsonTensor(json, (size, name) => {
    if (binary === undefined || binary.byteLength !== size) {
      throw new RangeError(
        `${tensorLabel(name)}${BINARY_DATA_SIZE} is ${size} but ${binary?.byteLength ?? 0} binary bytes were given`,
      );
    }
    return binary;
  });
}

/** `takeBinary` hands out the binary bytes of a tensor that declares `binary_data_size`. */
function parseJsonTensor(json: unknown, takeBinary: (size: number, name: string) => Uint8Array): AnyTensor {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TypeError(`a tensor must be a JSON object, got ${formatValue(json)}`);
  }
  const t = json as Partial<JsonTensor>;
  if (typeof t.name !== 'string') throw new TypeError(`tensor name must be a string, got ${formatValue(t.name)}`);
  const name = t.name;
  const datatype = parseDataType(t.datatype, `${tensorLabel(name)}datatype`);
  const shape = parseShape(t.shape, name);
  const binarySize = binaryDataSize(t.parameters, name);
  if (binarySize !== undefined) {
    if (t.data !== undefined) throw new TypeError(`${tensorLabel(name)}has both ${BINARY_DATA_SIZE} and data`);
    return tensorFromRaw(datatype, shape, takeBinary(binarySize, name), name);
  }
  if (!Array.isArray(t.data)) {
    throw new TypeError(`${tensorLabel(name)}data must be an array, got ${formatValue(t.data)}`);
  }
  const flat = flatten(t.data, shape, name);
  checkElementCount(datatype, shape, flat.length, name, ' data values');
  return checkedTensor(datatype, shape, dataFromJson(datatype, flat, { name, field: 'data' }), name);
}

function dataFromJson<T extends DataType>(datatype: T, values: readonly unknown[], source: Source): DataTypeMap[T] {
  const dt: DataType = datatype;
  switch (dt) {
    case 'BOOL':
      return boolsToData(values, source) as DataTypeMap[T];
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return intsToData(dt, values, source) as DataTypeMap[T];
    case 'INT64':
    case 'UINT64':
      return bigintsToData(dt, values, source) as DataTypeMap[T];
    case 'FP16':
      return toFp16Array(checkNumbers(dt, values, source)) as DataTypeMap[T];
    case 'BF16':
      return toBf16Array(checkNumbers(dt, values, source)) as DataTypeMap[T];
    case 'FP32':
    case 'FP64':
      return floatsToData(dt, values, source) as DataTypeMap[T];
    case 'BYTES':
      return bytesToData(values, source) as DataTypeMap[T];
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function jsonValues(tensor: AnyTensor): JsonScalar[] {
  const label = tensorLabel(tensor.name);
  switch (tensor.datatype) {
    case 'BOOL':
      return dataToBools(tensor.data);
    case 'INT64':
    case 'UINT64':
      return Array.from(tensor.data, (v, i) => {
        const n = Number(v);
        if (!Number.isSafeInteger(n)) {
          throw new RangeError(
            `${label}${tensor.datatype} value ${v} at index ${i} is not exact as a JSON number; use binary data`,
          );
        }
        return n;
      });
    case 'FP16':
      return finite(tensor, Array.from(tensor.data, fp16ToNumber));
    case 'BF16':
      return finite(tensor, Array.from(tensor.data, bf16ToNumber));
    case 'FP32':
    case 'FP64':
      return finite(tensor, Array.from(tensor.data));
    case 'BYTES':
      return tensor.data.map((b, i) => {
        try {
          return utf8.decode(b);
        } catch {
          throw new TypeError(`${label}BYTES element ${i} is not UTF-8 text; use binary data`);
        }
      });
    default:
      return Array.from(tensor.data);
  }
}

function finite(tensor: Tensor, values: number[]): number[] {
  const i = values.findIndex((v) => !Number.isFinite(v));
  if (i >= 0) {
    throw new RangeError(
      `${tensorLabel(tensor.name)}${tensor.datatype} value ${values[i]} at index ${i} has no JSON form; use binary data`,
    );
  }
  return values;
}

/** Flat row-major values → nested arrays by shape (`[]` stays a flat list of one). */
function nest(flat: JsonScalar[], shape: readonly number[]): JsonTensorData {
  if (shape.length <= 1) return flat;
  const build = (axis: number, offset: number, stride: number): JsonTensorData => {
    const n = shape[axis] as number;
    const inner = stride / n;
    if (axis === shape.length - 1) return flat.slice(offset, offset + n);
    const out: JsonTensorData = new Array(n);
    for (let i = 0; i < n; i++) out[i] = build(axis + 1, offset + i * inner, inner);
    return out;
  };
  return build(0, 0, shapeSize(shape));
}

/** Flat data passes as is; nested data must match the shape at every level. */
function flatten(data: readonly unknown[], shape: readonly number[], name: string): unknown[] {
  if (!data.some(Array.isArray)) return data as unknown[];
  const out: unknown[] = [];
  const walk = (level: readonly unknown[], axis: number, path: string): void => {
    const expected = shape[axis];
    if (level.length !== expected) {
      throw new RangeError(
        `${tensorLabel(name)}data${path} has ${level.length} entries; shape ${formatShape(shape)} needs ${expected ?? 'no nesting'} at axis ${axis}`,
      );
    }
    const leaf = axis === shape.length - 1;
    for (let i = 0; i < level.length; i++) {
      const v = level[i];
      if (Array.isArray(v) !== !leaf) {
        throw new TypeError(
          `${tensorLabel(name)}data${path}[${i}] is ${formatValue(v)}; nested data must follow shape ${formatShape(shape)}`,
        );
      }
      if (leaf) out.push(v);
      else walk(v as unknown[], axis + 1, `${path}[${i}]`);
    }
  };
  walk(data, 0, '');
  return out;
}

function binaryDataSize(parameters: unknown, name: string): number | undefined {
  if (parameters === undefined || parameters === null) return undefined;
  if (typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw new TypeError(`${tensorLabel(name)}parameters must be an object, got ${formatValue(parameters)}`);
  }
  const size = (parameters as JsonParameters)[BINARY_DATA_SIZE];
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new TypeError(
      `${tensorLabel(name)}${BINARY_DATA_SIZE} must be a non-negative integer, got ${formatValue(size)}`,
    );
  }
  return size;
}

// ---- binary data extension ----

/** A body ready to write: `parts` in order, and the header value to send when there is a binary part. */
export interface BinaryBody {
  readonly parts: Buffer[];
  /** Value for `Inference-Header-Content-Length`; undefined when the body is JSON only. */
  readonly headerLength: number | undefined;
  readonly byteLength: number;
  readonly contentType: string;
}

/** Tensors → JSON tensors plus binary chunks: each tensor `binary` picks is sent raw with `binary_data_size`. */
export function encodeTensorsJson(
  tensors: readonly Tensor[],
  binary: boolean | ((tensor: Tensor) => boolean),
  options: JsonTensorOptions = {},
): { tensors: JsonTensor[]; chunks: Buffer[] } {
  const chunks: Buffer[] = [];
  const json = tensors.map((tensor): JsonTensor => {
    if (typeof binary === 'function' ? binary(tensor) : binary) {
      const raw = tensorToRaw(tensor);
      chunks.push(raw);
      return {
        name: requireName(tensor, 'KServe'),
        datatype: tensor.datatype,
        shape: [...tensor.shape],
        parameters: { [BINARY_DATA_SIZE]: raw.byteLength },
      };
    }
    return tensorToJson(tensor, options);
  });
  return { tensors: json, chunks };
}

/**
 * JSON tensors → Tensors, taking binary slices in order for those with `binary_data_size`; the slices must use the
 * binary part exactly. Binary data is not copied when aligned.
 */
export function decodeTensorsJson(tensors: unknown, binary: Uint8Array = EMPTY, field = 'inputs'): AnyTensor[] {
  if (!Array.isArray(tensors)) throw new TypeError(`${field} must be an array of tensors, got ${formatValue(tensors)}`);
  let offset = 0;
  const out = tensors.map((json: unknown) =>
    parseJsonTensor(json, (size, name) => {
      if (offset + size > binary.byteLength) {
        throw new RangeError(
          `${tensorLabel(name)}${BINARY_DATA_SIZE} ${size} at binary offset ${offset} runs past the ` +
            `${binary.byteLength}-byte binary part`,
        );
      }
      offset += size;
      return binary.subarray(offset - size, offset);
    }),
  );
  if (offset !== binary.byteLength) {
    throw new RangeError(
      `${field} declare ${offset} bytes of binary data but the binary part has ${binary.byteLength}`,
    );
  }
  return out;
}

const EMPTY = new Uint8Array(0);

/** Splits a body at `Inference-Header-Content-Length` (whole body is JSON when absent) and parses the JSON part. */
export function splitBinaryBody(body: Uint8Array, headerLength?: number | string): { json: unknown; binary: Buffer } {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const length =
    headerLength === undefined
      ? buf.byteLength
      : typeof headerLength === 'number'
        ? headerLength
        : /^\s*\d+\s*$/.test(headerLength)
          ? Number(headerLength)
          : Number.NaN;
  if (!Number.isSafeInteger(length) || length < 0 || length > buf.byteLength) {
    throw new RangeError(
      `${INFERENCE_HEADER_CONTENT_LENGTH} ${formatValue(headerLength)} must be an integer from 0 to the body length ${buf.byteLength}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8', 0, length));
  } catch (error) {
    throw new TypeError(`the JSON part of the body is not valid JSON: ${(error as Error).message}`);
  }
  return { json, binary: buf.subarray(length) };
}

/** JSON header + binary chunks → body parts, without copying the chunks. */
export function joinBinaryBody(json: unknown, chunks: readonly Buffer[] = []): BinaryBody {
  const header = Buffer.from(JSON.stringify(json), 'utf8');
  const parts = [header, ...chunks];
  const byteLength = parts.reduce((n, p) => n + p.byteLength, 0);
  if (chunks.length === 0) return { parts, headerLength: undefined, byteLength, contentType: 'application/json' };
  return { parts, headerLength: header.byteLength, byteLength, contentType: 'application/octet-stream' };
}

// ---- requests and responses ----

export interface RequestedOutput {
  readonly name: string;
  readonly parameters?: JsonParameters;
}

export interface InferRequestJson {
  readonly id?: string;
  readonly parameters?: JsonParameters;
  readonly inputs: readonly Tensor[];
  readonly outputs?: readonly RequestedOutput[];
}

export interface DecodedInferRequestJson {
  readonly id: string | undefined;
  readonly parameters: JsonParameters;
  readonly inputs: AnyTensor[];
  readonly outputs: RequestedOutput[];
}

export interface InferResponseJson {
  readonly modelName: string;
  readonly modelVersion?: string;
  readonly id?: string;
  readonly parameters?: JsonParameters;
  readonly outputs: readonly Tensor[];
}

export interface DecodedInferResponseJson {
  readonly modelName: string;
  readonly modelVersion: string | undefined;
  readonly id: string | undefined;
  readonly parameters: JsonParameters;
  readonly outputs: AnyTensor[];
}

export interface EncodeJsonOptions extends JsonTensorOptions {
  /** Send tensor data as binary (all, none, or those picked). Default false. */
  readonly binary?: boolean | ((tensor: Tensor) => boolean);
}

/** Client side: an inference request body. Requested outputs marked `binary_data` come back binary. */
export function encodeInferRequestJson(request: InferRequestJson, options: EncodeJsonOptions = {}): BinaryBody {
  const { tensors, chunks } = encodeTensorsJson(request.inputs, options.binary ?? false, options);
  const json: Record<string, unknown> = {};
  if (request.id !== undefined) json.id = request.id;
  if (request.parameters !== undefined) json.parameters = request.parameters;
  json.inputs = tensors;
  if (request.outputs !== undefined) json.outputs = request.outputs;
  return joinBinaryBody(json, chunks);
}

/** Server side: parses and checks an inference request body. */
export function decodeInferRequestJson(body: Uint8Array, headerLength?: number | string): DecodedInferRequestJson {
  const { json, binary } = splitBinaryBody(body, headerLength);
  const r = object(json, 'inference request');
  const outputs = r.outputs === undefined ? [] : r.outputs;
  if (!Array.isArray(outputs)) throw new TypeError(`outputs must be an array, got ${formatValue(outputs)}`);
  return {
    id: optionalString(r.id, 'id'),
    parameters: r.parameters === undefined ? {} : object(r.parameters, 'parameters'),
    inputs: decodeTensorsJson(r.inputs, binary, 'inputs'),
    outputs: outputs.map((o: unknown, i) => {
      const out = object(o, `outputs[${i}]`);
      if (typeof out.name !== 'string')
        throw new TypeError(`outputs[${i}].name must be a string, got ${formatValue(out.name)}`);
      return out.parameters === undefined
        ? { name: out.name }
        : { name: out.name, parameters: object(out.parameters, `outputs[${i}].parameters`) };
    }),
  };
}

/**
 * Whether the client asked for output `name` as binary data: the output's own `binary_data` wins, then the request's
 * `binary_data_output`.
 */
export function wantsBinaryOutput(request: DecodedInferRequestJson, name: string): boolean {
  const own = request.outputs.find((o) => o.name === name)?.parameters?.[BINARY_DATA];
  if (typeof own === 'boolean') return own;
  return request.parameters[BINARY_DATA_OUTPUT] === true;
}

/** Server side: an inference response body. */
export function encodeInferResponseJson(response: InferResponseJson, options: EncodeJsonOptions = {}): BinaryBody {
  const { tensors, chunks } = encodeTensorsJson(response.outputs, options.binary ?? false, options);
  const json: Record<string, unknown> = { model_name: response.modelName };
  if (response.modelVersion !== undefined) json.model_version = response.modelVersion;
  if (response.id !== undefined) json.id = response.id;
  if (response.parameters !== undefined) json.parameters = response.parameters;
  json.outputs = tensors;
  return joinBinaryBody(json, chunks);
}

/** Client side: parses and checks an inference response body. */
export function decodeInferResponseJson(body: Uint8Array, headerLength?: number | string): DecodedInferResponseJson {
  const { json, binary } = splitBinaryBody(body, headerLength);
  const r = object(json, 'inference response');
  if (typeof r.model_name !== 'string')
    throw new TypeError(`model_name must be a string, got ${formatValue(r.model_name)}`);
  return {
    modelName: r.model_name,
    modelVersion: optionalString(r.model_version, 'model_version'),
    id: optionalString(r.id, 'id'),
    parameters: r.parameters === undefined ? {} : object(r.parameters, 'parameters'),
    outputs: decodeTensorsJson(r.outputs, binary, 'outputs'),
  };
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${what} must be a JSON object, got ${formatValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${formatValue(value)}`);
  return value;
}
