/**
 * TF Serving: Tensors ⇄ `tensorflow.TensorProto`, either raw (`tensor_content`, little-endian) or in the typed
 * `*_val` fields, and the `PredictRequest` / `PredictResponse` tensor maps.
 */
import type { tf, tfs } from '@bundlegate/protos';
import { tensorFromRaw, tensorToRaw } from './codec-raw';
import { DATA_TYPE_TABLE, dataTypeFromTf, type DataType, type DataTypeMap } from './dtype';
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
import { checkedTensor, describeNeed, parseShape, requireName, shapeSize, tensorLabel } from './tensor-impl';

type TensorProto = tf.TensorProto;
type ValField =
  'halfVal' | 'floatVal' | 'doubleVal' | 'intVal' | 'stringVal' | 'int64Val' | 'boolVal' | 'uint32Val' | 'uint64Val';

/** 'raw': `tensor_content` bytes (what TF Serving itself sends); 'typed': the `*_val` field. BYTES is always typed. */
export type TfsContents = 'raw' | 'typed';

/** The TensorProto field holding each datatype in typed form (TF keeps FP16 and BF16 bits in `half_val`). */
export const TFS_VAL_FIELD: { readonly [K in DataType]: ValField } = {
  BOOL: 'boolVal',
  UINT8: 'intVal',
  UINT16: 'intVal',
  UINT32: 'uint32Val',
  UINT64: 'uint64Val',
  INT8: 'intVal',
  INT16: 'intVal',
  INT32: 'intVal',
  INT64: 'int64Val',
  FP16: 'halfVal',
  BF16: 'halfVal',
  FP32: 'floatVal',
  FP64: 'doubleVal',
  BYTES: 'stringVal',
};

const VAL_FIELDS: readonly ValField[] = [...new Set(Object.values(TFS_VAL_FIELD))];

const EMPTY = Buffer.alloc(0);

function emptyTensorProto(dtype: tf.DataType, shape: readonly number[]): TensorProto {
  return {
    dtype,
    tensorShape: { dim: shape.map((size) => ({ size: BigInt(size), name: '' })), unknownRank: false },
    versionNumber: 0,
    tensorContent: EMPTY,
    halfVal: [],
    floatVal: [],
    doubleVal: [],
    intVal: [],
    stringVal: [],
    scomplexVal: [],
    int64Val: [],
    boolVal: [],
    dcomplexVal: [],
    resourceHandleVal: [],
    variantVal: [],
    uint32Val: [],
    uint64Val: [],
  };
}

/** Tensor → TensorProto. Raw content is a view over the tensor's memory, not a copy. */
export function tensorToTensorProto(tensor: Tensor, contents: TfsContents = 'raw'): TensorProto {
  const t = tensor as AnyTensor;
  const proto = emptyTensorProto(DATA_TYPE_TABLE[t.datatype].tf as tf.DataType, t.shape);
  if (t.datatype === 'BYTES') {
    proto.stringVal = dataToBuffers(t.data);
    return proto;
  }
  if (contents === 'raw') {
    proto.tensorContent = tensorToRaw(t);
    return proto;
  }
  switch (t.datatype) {
    case 'BOOL':
      proto.boolVal = dataToBools(t.data);
      break;
    case 'INT64':
      proto.int64Val = Array.from(t.data);
      break;
    case 'UINT64':
      proto.uint64Val = Array.from(t.data);
      break;
    default:
      proto[TFS_VAL_FIELD[t.datatype] as 'halfVal' | 'floatVal' | 'doubleVal' | 'intVal' | 'uint32Val'] = Array.from(
        t.data,
      );
  }
  return proto;
}

/**
 * TensorProto → Tensor. `tensor_content`, when not empty, is the data; otherwise the datatype's `*_val` field must
 * hold one value per element, or exactly one value that TF broadcasts to the whole shape.
 */
export function tensorFromTensorProto(proto: TensorProto, name?: string): AnyTensor {
  const datatype = dataTypeFromTf(proto.dtype);
  const shape = shapeOf(proto, name);
  if (proto.tensorContent.byteLength > 0) {
    if (datatype === 'BYTES') {
      throw new TypeError(`${tensorLabel(name)}DT_STRING in tensor_content is not supported; send string_val`);
    }
    return tensorFromRaw(datatype, shape, proto.tensorContent, name);
  }
  const size = shapeSize(shape, name);
  const field = TFS_VAL_FIELD[datatype];
  const values: ArrayLike<unknown> = proto[field];
  if (values.length !== size && !(values.length === 1 && size > 0)) {
    throw new RangeError(
      `${tensorLabel(name)}${describeNeed(datatype, shape, size)}, got ${values.length} ${field} values` +
        `${valuesElsewhere(proto, VAL_FIELDS, field)}; send ${size}${size > 1 ? ' or 1 to broadcast' : ''}`,
    );
  }
  const data = valuesToData(datatype, values, { name, field });
  return checkedTensor(datatype, shape, values.length === size ? data : broadcast(data, size), name);
}

function valuesToData(
  datatype: DataType,
  values: ArrayLike<unknown>,
  source: { name: string | undefined; field: string },
) {
  switch (datatype) {
    case 'BOOL':
      return boolsToData(values, source);
    case 'FP16':
    case 'BF16':
      // half_val is int32 on the wire; each value is a 16-bit pattern
      return intsToData('UINT16', values, source);
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
      return intsToData(datatype, values, source);
    case 'INT64':
    case 'UINT64':
      return bigintsToData(datatype, values, source);
    case 'FP32':
    case 'FP64':
      return floatsToData(datatype, values, source);
    case 'BYTES':
      return bytesToData(values, source);
  }
}

/** TF's rule: a single value fills the whole tensor. */
function broadcast(data: DataTypeMap[DataType], size: number): DataTypeMap[DataType] {
  if (Array.isArray(data)) return new Array<Uint8Array>(size).fill(data[0] as Uint8Array);
  const out = new (data.constructor as new (n: number) => typeof data)(size);
  out.fill(data[0] as never);
  return out;
}

function shapeOf(proto: TensorProto, name: string | undefined): number[] {
  const shape = proto.tensorShape;
  if (shape === undefined) return [];
  if (shape.unknownRank)
    throw new TypeError(`${tensorLabel(name)}tensor_shape has unknown_rank; a value needs a known shape`);
  return parseShape(
    shape.dim.map((d) => d.size),
    name,
  );
}

// ---- PredictRequest / PredictResponse ----

/** Named tensors → a TF Serving tensor map (`inputs` / `outputs`). */
export function tensorsToProtoMap(
  tensors: readonly Tensor[],
  contents: TfsContents = 'raw',
): { [key: string]: TensorProto } {
  const map: { [key: string]: TensorProto } = {};
  for (const tensor of tensors) {
    const name = requireName(tensor, 'TF Serving');
    if (Object.prototype.hasOwnProperty.call(map, name))
      throw new TypeError(`tensor name ${JSON.stringify(name)} is used twice`);
    map[name] = tensorToTensorProto(tensor, contents);
  }
  return map;
}

/** A TF Serving tensor map → Tensors named by their keys. */
export function tensorsFromProtoMap(map: { readonly [key: string]: TensorProto }): AnyTensor[] {
  return Object.entries(map).map(([name, proto]) => tensorFromTensorProto(proto, name));
}

export interface PredictRequestInit {
  readonly modelName: string;
  /** Default: the model's default signature (TF Serving's "serving_default"). */
  readonly signatureName?: string;
  readonly version?: bigint | number;
  readonly versionLabel?: string;
  readonly inputs: readonly Tensor[];
  readonly outputFilter?: readonly string[];
}

export function toPredictRequest(init: PredictRequestInit, contents: TfsContents = 'raw'): tfs.PredictRequest {
  return {
    modelSpec: {
      name: init.modelName,
      version: init.version === undefined ? undefined : BigInt(init.version),
      versionLabel: init.versionLabel,
      signatureName: init.signatureName ?? '',
    },
    inputs: tensorsToProtoMap(init.inputs, contents),
    outputFilter: [...(init.outputFilter ?? [])],
  };
}

/** Server side: the request's input tensors. */
export function fromPredictRequest(request: tfs.PredictRequest): AnyTensor[] {
  return tensorsFromProtoMap(request.inputs);
}

export function toPredictResponse(
  outputs: readonly Tensor[],
  modelSpec?: tfs.ModelSpec,
  contents: TfsContents = 'raw',
): tfs.PredictResponse {
  return { modelSpec, outputs: tensorsToProtoMap(outputs, contents) };
}

/** Client side: the response's output tensors. */
export function fromPredictResponse(response: tfs.PredictResponse): AnyTensor[] {
  return tensorsFromProtoMap(response.outputs);
}
