// @bundlegate/tensors: dtypes, Tensor, protocol codecs and image → tensor for every request path.

// Datatypes: the one table (KServe ↔ TensorFlow ↔ ONNX ↔ TypedArray ↔ byte size) and its lookups.
export {
  DATA_TYPES,
  DATA_TYPE_TABLE,
  dataTypeFromOnnx,
  dataTypeFromOrt,
  dataTypeFromTf,
  dataTypeInfo,
  dataTypeToOnnx,
  dataTypeToOrt,
  dataTypeToTf,
  elementByteSize,
  isDataType,
  isNumericDataType,
  parseDataType,
  typedArrayConstructor,
} from './dtype';
export type {
  BigIntDataType,
  DataType,
  DataTypeInfo,
  DataTypeMap,
  NumericDataType,
  OrtTensorType,
  TypedArray,
  TypedArrayConstructorOf,
} from './dtype';

// Tensor: the interface, construction and shape checks.
export type { AnyTensor, Tensor, TensorOf } from './tensor';
export { checkElementCount, createTensor, formatShape, isTensorData, parseShape, shapeSize } from './tensor-impl';

// FP16 / BF16 bit patterns ⇄ numbers.
export {
  bf16ArrayToFloat32,
  bf16ToNumber,
  fp16ArrayToFloat32,
  fp16ToNumber,
  numberToBf16,
  numberToFp16,
  toBf16Array,
  toFp16Array,
} from './float16';

// Raw little-endian contents (zero-copy views) and length-prefixed BYTES.
export {
  BYTES_LENGTH_PREFIX,
  decodeBytesElements,
  encodeBytesElements,
  rawByteLength,
  tensorFromRaw,
  tensorToRaw,
  viewTypedArray,
} from './codec-raw';

// KServe v2 gRPC: ModelInferRequest / ModelInferResponse.
export {
  KSERVE_CONTENTS_FIELD,
  decodeKServeTensors,
  encodeKServeTensors,
  fromModelInferRequest,
  fromModelInferResponse,
  tensorFromContents,
  tensorToContents,
  toModelInferRequest,
  toModelInferResponse,
} from './codec-kserve';
export type {
  KServeContents,
  KServeEncodeOptions,
  KServeRequestInit,
  KServeResponseInit,
  KServeWireTensor,
  RequestedOutputSpec,
} from './codec-kserve';

// KServe v2 REST: JSON tensors and the binary data extension.
export {
  BINARY_DATA,
  BINARY_DATA_OUTPUT,
  BINARY_DATA_SIZE,
  INFERENCE_HEADER_CONTENT_LENGTH,
  decodeInferRequestJson,
  decodeInferResponseJson,
  decodeTensorsJson,
  encodeInferRequestJson,
  encodeInferResponseJson,
  encodeTensorsJson,
  joinBinaryBody,
  splitBinaryBody,
  tensorFromJson,
  tensorToJson,
  wantsBinaryOutput,
} from './codec-kserve-json';
export type {
  BinaryBody,
  DecodedInferRequestJson,
  DecodedInferResponseJson,
  EncodeJsonOptions,
  InferRequestJson,
  InferResponseJson,
  JsonParameters,
  JsonScalar,
  JsonTensor,
  JsonTensorData,
  JsonTensorOptions,
  RequestedOutput,
} from './codec-kserve-json';

// TF Serving: TensorProto and Predict tensor maps.
export {
  TFS_VAL_FIELD,
  fromPredictRequest,
  fromPredictResponse,
  tensorFromTensorProto,
  tensorToTensorProto,
  tensorsFromProtoMap,
  tensorsToProtoMap,
  toPredictRequest,
  toPredictResponse,
} from './codec-tfs';
export type { PredictRequestInit, TfsContents } from './codec-tfs';

// Image → tensor (sharp): decode, resize, channel order, layout, normalization, pixel limit.
export {
  DEFAULT_MAX_IMAGE_PIXELS,
  ImageDecodeError,
  ImageTooLargeError,
  createImageDecoder,
  imageToTensor,
} from './image';
export type {
  ImageChannelOrder,
  ImageDecodeReason,
  ImageDecoder,
  ImageFormat,
  ImageLayout,
  ImageResize,
  ImageResizeFit,
  ImageResizeKernel,
  ImageTensorDataType,
  ImageToTensorOptions,
  PerChannel,
  ResolvedImageOptions,
} from './image';
