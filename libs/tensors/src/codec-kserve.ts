/**
 * KServe v2 gRPC: Tensors ⇄ `ModelInferRequest` inputs / `ModelInferResponse` outputs, either as typed
 * `InferTensorContents` or as raw little-endian `raw_input_contents` / `raw_output_contents` (position-matched).
 */
import type { kserve } from '@bundlegate/protos';
import { tensorFromRaw, tensorToRaw } from './codec-raw';
import { parseDataType, type DataType, type DataTypeMap } from './dtype';
import {
  bigintsToData,
  boolsToData,
  bytesToData,
  dataToBools,
  dataToBuffers,
  floatsToData,
  intsToData,
  valuesElsewhere,
} from './elements';
import type { AnyTensor, Tensor } from './tensor';
import { checkElementCount, checkedTensor, parseShape, requireName, tensorLabel } from './tensor-impl';

type InferTensorContents = kserve.InferTensorContents;
type InferParameter = kserve.InferParameter;
type ContentsField = keyof InferTensorContents;

/** 'raw': little-endian bytes in the raw contents list (smaller, faster); 'typed': the `*_contents` fields. */
export type KServeContents = 'raw' | 'typed';

/** The `InferTensorContents` field holding each datatype in typed form; FP16 and BF16 have none (raw only). */
export const KSERVE_CONTENTS_FIELD: { readonly [K in DataType]: ContentsField | undefined } = {
  BOOL: 'boolContents',
  UINT8: 'uintContents',
  UINT16: 'uintContents',
  UINT32: 'uintContents',
  UINT64: 'uint64Contents',
  INT8: 'intContents',
  INT16: 'intContents',
  INT32: 'intContents',
  INT64: 'int64Contents',
  FP16: undefined,
  BF16: undefined,
  FP32: 'fp32Contents',
  FP64: 'fp64Contents',
  BYTES: 'bytesContents',
};

const CONTENTS_FIELDS: readonly ContentsField[] = [
  'boolContents',
  'intContents',
  'int64Contents',
  'uintContents',
  'uint64Contents',
  'fp32Contents',
  'fp64Contents',
  'bytesContents',
];

/** What InferInputTensor and InferOutputTensor share. */
export interface KServeWireTensor {
  name: string;
  datatype: string;
  shape: bigint[];
  parameters: { [key: string]: InferParameter };
  contents?: InferTensorContents | undefined;
}

function emptyContents(): InferTensorContents {
  return {
    boolContents: [],
    intContents: [],
    int64Contents: [],
    uintContents: [],
    uint64Contents: [],
    fp32Contents: [],
    fp64Contents: [],
    bytesContents: [],
  };
}

/** Tensor → typed `InferTensorContents`; throws a TypeError for FP16/BF16, which KServe only carries raw. */
export function tensorToContents(tensor: Tensor): InferTensorContents {
  const t = tensor as AnyTensor;
  const contents = emptyContents();
  switch (t.datatype) {
    case 'BOOL':
      contents.boolContents = dataToBools(t.data);
      break;
    case 'INT8':
    case 'INT16':
    case 'INT32':
      contents.intContents = Array.from(t.data);
      break;
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      contents.uintContents = Array.from(t.data);
      break;
    case 'INT64':
      contents.int64Contents = Array.from(t.data);
      break;
    case 'UINT64':
      contents.uint64Contents = Array.from(t.data);
      break;
    case 'FP32':
      contents.fp32Contents = Array.from(t.data);
      break;
    case 'FP64':
      contents.fp64Contents = Array.from(t.data);
      break;
    case 'BYTES':
      contents.bytesContents = dataToBuffers(t.data);
      break;
    case 'FP16':
    case 'BF16':
      throw new TypeError(`${tensorLabel(t.name)}${t.datatype} has no typed contents field in KServe v2; send it raw`);
  }
  return contents;
}

/** Typed `InferTensorContents` → Tensor, checking the field, element types, ranges and count against the shape. */
export function tensorFromContents(
  datatype: DataType,
  shape: readonly number[],
  contents: InferTensorContents | undefined,
  name?: string,
): AnyTensor {
  const field = KSERVE_CONTENTS_FIELD[datatype];
  if (field === undefined) {
    throw new TypeError(`${tensorLabel(name)}${datatype} has no typed contents field in KServe v2; it must come raw`);
  }
  const values: ArrayLike<unknown> = contents?.[field] ?? [];
  checkElementCount(
    datatype,
    shape,
    values.length,
    name,
    ` ${field} values${valuesElsewhere(contents, CONTENTS_FIELDS, field)}`,
  );
  const source = { name, field };
  let data: DataTypeMap[DataType];
  switch (datatype) {
    case 'BOOL':
      data = boolsToData(values, source);
      break;
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      data = intsToData(datatype, values, source);
      break;
    case 'INT64':
    case 'UINT64':
      data = bigintsToData(datatype, values, source);
      break;
    case 'FP32':
    case 'FP64':
      data = floatsToData(datatype, values, source);
      break;
    default:
      data = bytesToData(values, source);
  }
  return checkedTensor(datatype, shape, data, name);
}

/** Tensors → wire tensors plus, for 'raw', their position-matched raw contents (views, not copies). */
export function encodeKServeTensors(
  tensors: readonly Tensor[],
  contents: KServeContents = 'raw',
): { tensors: KServeWireTensor[]; raw: Buffer[] } {
  const raw: Buffer[] = [];
  const wire = tensors.map((tensor): KServeWireTensor => {
    const base = {
      name: requireName(tensor, 'KServe'),
      datatype: tensor.datatype,
      shape: tensor.shape.map(BigInt),
      parameters: {},
    };
    if (contents === 'raw') {
      raw.push(tensorToRaw(tensor));
      return base;
    }
    return { ...base, contents: tensorToContents(tensor) };
  });
  return { tensors: wire, raw };
}

/**
 * Wire tensors (+ raw contents) → Tensors. Raw contents, when present, must match the tensors one to one and the
 * tensors must then carry no typed contents, as the protocol requires.
 */
export function decodeKServeTensors(
  tensors: readonly KServeWireTensor[],
  raw: readonly Uint8Array[],
  field: 'inputs' | 'outputs' = 'inputs',
): AnyTensor[] {
  const rawField = field === 'inputs' ? 'rawInputContents' : 'rawOutputContents';
  if (raw.length > 0 && raw.length !== tensors.length) {
    throw new RangeError(
      `${rawField} has ${raw.length} entries for ${tensors.length} ${field}; they must match one to one`,
    );
  }
  return tensors.map((wire, i) => {
    const name = wire.name;
    const datatype = parseDataType(wire.datatype, `${tensorLabel(name)}datatype`);
    const shape = parseShape(wire.shape, name);
    const bytes = raw[i];
    if (bytes === undefined) return tensorFromContents(datatype, shape, wire.contents, name);
    if (wire.contents !== undefined && CONTENTS_FIELDS.some((f) => wire.contents?.[f].length)) {
      throw new TypeError(`${tensorLabel(name)}has typed contents although ${rawField} is used; send one or the other`);
    }
    return tensorFromRaw(datatype, shape, bytes, name);
  });
}

// ---- requests and responses ----

export interface RequestedOutputSpec {
  readonly name: string;
  readonly parameters?: { [key: string]: InferParameter };
}

export interface KServeRequestInit {
  readonly modelName: string;
  readonly modelVersion?: string;
  readonly id?: string;
  readonly parameters?: { [key: string]: InferParameter };
  readonly inputs: readonly Tensor[];
  /** Outputs to return; all of them when absent. */
  readonly outputs?: readonly (string | RequestedOutputSpec)[];
}

export interface KServeResponseInit {
  readonly modelName: string;
  readonly modelVersion?: string;
  readonly id?: string;
  readonly parameters?: { [key: string]: InferParameter };
  readonly outputs: readonly Tensor[];
}

export interface KServeEncodeOptions {
  /** Default 'raw'. */
  readonly contents?: KServeContents;
}

export function toModelInferRequest(
  init: KServeRequestInit,
  options: KServeEncodeOptions = {},
): kserve.ModelInferRequest {
  const { tensors, raw } = encodeKServeTensors(init.inputs, options.contents);
  return {
    modelName: init.modelName,
    modelVersion: init.modelVersion ?? '',
    id: init.id ?? '',
    parameters: init.parameters ?? {},
    inputs: tensors,
    outputs: (init.outputs ?? []).map((o) =>
      typeof o === 'string' ? { name: o, parameters: {} } : { name: o.name, parameters: o.parameters ?? {} },
    ),
    rawInputContents: raw,
  };
}

/** Server side: the request's input tensors, checked against their shapes. */
export function fromModelInferRequest(request: kserve.ModelInferRequest): AnyTensor[] {
  return decodeKServeTensors(request.inputs, request.rawInputContents, 'inputs');
}

export function toModelInferResponse(
  init: KServeResponseInit,
  options: KServeEncodeOptions = {},
): kserve.ModelInferResponse {
  const { tensors, raw } = encodeKServeTensors(init.outputs, options.contents);
  return {
    modelName: init.modelName,
    modelVersion: init.modelVersion ?? '',
    id: init.id ?? '',
    parameters: init.parameters ?? {},
    outputs: tensors,
    rawOutputContents: raw,
  };
}

/** Client side: the response's output tensors, checked against their shapes. */
export function fromModelInferResponse(response: kserve.ModelInferResponse): AnyTensor[] {
  return decodeKServeTensors(response.outputs, response.rawOutputContents, 'outputs');
}
