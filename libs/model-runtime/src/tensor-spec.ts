import { dataTypeFromOrt, formatShape, type DataType } from '@bundlegate/tensors';

/** A model input or output as the model declares it: -1 marks a dimension of any size. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
}

/** One entry of onnxruntime-node's `inputMetadata` / `outputMetadata`. */
export interface OrtValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string;
  readonly shape?: readonly (number | string)[];
}

/** onnxruntime metadata → TensorSpec; symbolic dims (`"batch"`) become -1. Throws for non-tensor values. */
export function tensorSpecFromOrt(meta: OrtValueMetadata): TensorSpec {
  if (!meta.isTensor || meta.type === undefined || meta.shape === undefined) {
    throw new TypeError(`model value "${meta.name}" is not a tensor (sequences and maps are not served)`);
  }
  return {
    name: meta.name,
    datatype: dataTypeFromOrt(meta.type),
    shape: meta.shape.map((d) => (typeof d === 'number' && Number.isSafeInteger(d) && d >= 0 ? d : -1)),
  };
}

/** `FP32 [1,3,224,224]`, dynamic dims written -1, for error messages and logs. */
export function describeSpec(spec: TensorSpec): string {
  return `${spec.datatype} ${formatShape(spec.shape)}`;
}

/** Whether a concrete shape fits a declared one (same rank; -1 matches any size). */
export function shapeMatches(declared: readonly number[], shape: readonly number[]): boolean {
  if (declared.length !== shape.length) return false;
  for (let i = 0; i < declared.length; i++) {
    const d = declared[i] as number;
    if (d !== -1 && d !== shape[i]) return false;
  }
  return true;
}
