/** KServe v2 tensor datatypes. */
export const TENSOR_DTYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type TensorDtype = (typeof TENSOR_DTYPES)[number];

/** Datatypes a Quad or Scalar input may be sent as. */
export const NUMERIC_DTYPES = [
  'FP16',
  'FP32',
  'FP64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
] as const satisfies readonly TensorDtype[];
export type NumericDtype = (typeof NUMERIC_DTYPES)[number];

/** Datatypes a decoded image may be sent as. */
export const IMAGE_DTYPES = ['FP32', 'UINT8', 'FP16'] as const satisfies readonly TensorDtype[];
export type ImageDtype = (typeof IMAGE_DTYPES)[number];
