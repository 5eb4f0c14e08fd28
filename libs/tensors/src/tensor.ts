import type { DataType, DataTypeMap } from './dtype';

/**
 * A named, shaped block of elements in one KServe v2 datatype. `data` is row-major; numeric data may be a view over
 * a larger buffer (a decoded request), so copy it before keeping it past the request.
 */
export interface Tensor<T extends DataType = DataType> {
  readonly name?: string;
  readonly datatype: T;
  /** Dimensions, each a non-negative safe integer; `[]` is a scalar (one element). */
  readonly shape: readonly number[];
  readonly data: DataTypeMap[T];
}

/** `Tensor<K>` for each K in T: a union of datatypes gives a union of tensors that a switch on `datatype` narrows. */
export type TensorOf<T extends DataType> = { [K in T]: Tensor<K> }[T];

/** A Tensor of any datatype, discriminated by `datatype`. */
export type AnyTensor = TensorOf<DataType>;
