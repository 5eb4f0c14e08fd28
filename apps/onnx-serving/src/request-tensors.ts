import { bgError, isBgError, type BgError } from '@bundlegate/service-kit';
import type { kserve, tfs } from '@bundlegate/protos';
import {
  BINARY_DATA_SIZE,
  DATA_TYPE_TABLE,
  DATA_TYPES,
  decodeTensorsJson,
  isDataType,
  shapeSize,
  splitBinaryBody,
  tensorFromContents,
  tensorFromRaw,
  tensorFromTensorProto,
  dataTypeFromTf,
  type DataType,
  type DecodedInferRequestJson,
  type RequestedOutput,
  type Tensor,
} from '@bundlegate/tensors';

// Protocol messages → Tensors, with every client mistake turned into a registry error that states what
// was expected: unknown datatypes, data sizes that do not fit the declared shape, malformed contents.

const DATATYPE_LIST = `a KServe v2 datatype (${DATA_TYPES.join(', ')})`;

/** Codec TypeErrors/RangeErrors are the client's: keep their precise message under BG_INVALID_ARGUMENT. */
function codecError(field: string, err: unknown): BgError {
  if (isBgError(err)) return err;
  if (err instanceof TypeError || err instanceof RangeError) {
    return bgError('BG_INVALID_ARGUMENT', { field, expected: 'data that matches the declared shape and datatype' }, { message: err.message, cause: err });
  }
  throw err;
}

function checkDatatype(name: string, datatype: unknown): DataType {
  if (isDataType(datatype)) return datatype;
  throw bgError('BG_INVALID_DTYPE', { field: name, expected: DATATYPE_LIST, got: String(datatype) });
}

function checkShape(name: string, dims: readonly (number | bigint)[]): number[] {
  const shape = dims.map(Number);
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bgError('BG_INVALID_SHAPE', { field: name, expected: 'non-negative integer dims', got: dims.map(String).join(',') });
  }
  try {
    shapeSize(shape, name);
  } catch (err) {
    throw codecError(`input "${name}"`, err);
  }
  return shape;
}

/** Raw numeric data must be exactly shape × element size; BYTES framing is the codec's to check. */
function checkRawSize(name: string, datatype: DataType, shape: readonly number[], bytes: number): void {
  const size = DATA_TYPE_TABLE[datatype].byteSize;
  if (size === undefined) return;
  const expected = shapeSize(shape) * size;
  if (bytes !== expected) throw bgError('BG_INVALID_BYTE_SIZE', { field: name, expected, got: bytes });
}

/** ModelInferRequest inputs → Tensors (raw contents stay views into the request). */
export function kserveInputs(request: kserve.ModelInferRequest): Tensor[] {
  const raw = request.rawInputContents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw bgError('BG_INVALID_ARGUMENT', {
      field: 'raw_input_contents',
      expected: `one entry per input (${request.inputs.length})`,
      got: raw.length,
    });
  }
  return request.inputs.map((input, i) => {
    const name = input.name;
    const datatype = checkDatatype(name, input.datatype);
    const shape = checkShape(name, input.shape);
    const bytes = raw[i];
    try {
      if (bytes === undefined) return tensorFromContents(datatype, shape, input.contents, name);
      checkRawSize(name, datatype, shape, bytes.byteLength);
      return tensorFromRaw(datatype, shape, bytes, name);
    } catch (err) {
      throw codecError(`input "${name}"`, err);
    }
  });
}

/** The outputs a KServe request names, in its order. */
export function kserveRequestedOutputs(request: kserve.ModelInferRequest): string[] {
  return request.outputs.map((o) => o.name);
}

/**
 * A KServe REST inference body (JSON, or JSON + binary data with `Inference-Header-Content-Length`) →
 * the decoded request. Unknown datatypes and binary sizes that do not fit their shape get their own codes.
 */
export function restInferRequest(body: Buffer, headerLength: string | undefined): DecodedInferRequestJson {
  let split: { json: unknown; binary: Buffer };
  try {
    split = splitBinaryBody(body, headerLength);
  } catch (err) {
    if (err instanceof TypeError) throw bgError('BG_INVALID_JSON', { reason: err.message }, { cause: err });
    throw bgError('BG_INVALID_ARGUMENT', { field: 'Inference-Header-Content-Length', expected: `an integer from 0 to the body length ${body.byteLength}`, got: headerLength ?? null }, { cause: err });
  }
  const json = split.json;
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw bgError('BG_INVALID_ARGUMENT', { field: 'body', expected: 'an inference request object {"inputs": [...]}' });
  }
  const r = json as Record<string, unknown>;
  if (!Array.isArray(r.inputs)) throw bgError('BG_INVALID_ARGUMENT', { field: 'inputs', expected: 'an array of tensors' });
  for (const input of r.inputs as unknown[]) {
    if (input === null || typeof input !== 'object') continue;
    const t = input as Record<string, unknown>;
    const name = typeof t.name === 'string' ? t.name : '';
    const datatype = checkDatatype(name, t.datatype);
    const size = (t.parameters as Record<string, unknown> | undefined)?.[BINARY_DATA_SIZE];
    const elementSize = DATA_TYPE_TABLE[datatype].byteSize;
    if (typeof size === 'number' && elementSize !== undefined && Array.isArray(t.shape) && t.shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      let expected: number;
      try {
        expected = shapeSize(t.shape as number[], name) * elementSize;
      } catch (err) {
        throw codecError(name, err); // a shape past 2^53-1 elements is the client's mistake, not ours
      }
      if (size !== expected) throw bgError('BG_INVALID_BYTE_SIZE', { field: name, expected, got: size });
    }
  }
  let inputs: Tensor[];
  try {
    inputs = decodeTensorsJson(r.inputs, split.binary, 'inputs');
  } catch (err) {
    throw codecError('inputs', err);
  }
  const parameters = r.parameters ?? {};
  if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
    throw bgError('BG_INVALID_ARGUMENT', { field: 'parameters', expected: 'an object' });
  }
  const outputs = r.outputs ?? [];
  if (!Array.isArray(outputs)) throw bgError('BG_INVALID_ARGUMENT', { field: 'outputs', expected: 'an array of {"name": ...}' });
  const requested: RequestedOutput[] = outputs.map((o: unknown, i) => {
    const out = o as { name?: unknown; parameters?: unknown } | null;
    if (out === null || typeof out !== 'object' || typeof out.name !== 'string') {
      throw bgError('BG_INVALID_ARGUMENT', { field: `outputs[${i}]`, expected: 'an object with a string "name"' });
    }
    const p = out.parameters;
    if (p !== undefined && (p === null || typeof p !== 'object' || Array.isArray(p))) {
      throw bgError('BG_INVALID_ARGUMENT', { field: `outputs[${i}].parameters`, expected: 'an object' });
    }
    return p === undefined ? { name: out.name } : { name: out.name, parameters: p as Record<string, unknown> };
  });
  if (r.id !== undefined && typeof r.id !== 'string') throw bgError('BG_INVALID_ARGUMENT', { field: 'id', expected: 'a string' });
  return { id: r.id as string | undefined, parameters: parameters as Record<string, unknown>, inputs: inputs as DecodedInferRequestJson['inputs'], outputs: requested };
}

/** TF Serving PredictRequest inputs → Tensors named by their keys. */
export function predictInputs(request: tfs.PredictRequest): Tensor[] {
  return Object.entries(request.inputs).map(([name, proto]) => {
    let datatype: DataType;
    try {
      datatype = dataTypeFromTf(proto.dtype);
    } catch (err) {
      throw bgError('BG_INVALID_DTYPE', { field: name, expected: 'a TensorFlow dtype with a KServe equivalent', got: `DataType ${proto.dtype}` }, { cause: err });
    }
    if (proto.tensorContent.byteLength > 0 && proto.tensorShape && !proto.tensorShape.unknownRank) {
      const shape = checkShape(name, proto.tensorShape.dim.map((d) => d.size));
      checkRawSize(name, datatype, shape, proto.tensorContent.byteLength);
    }
    try {
      return tensorFromTensorProto(proto, name);
    } catch (err) {
      throw codecError(`input "${name}"`, err);
    }
  });
}
