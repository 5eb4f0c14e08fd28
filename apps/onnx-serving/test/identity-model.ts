import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { DATA_TYPE_TABLE, type DataType } from '@bundlegate/tensors';

// An ONNX model that passes one input of every datatype onnxruntime-node can hold straight to an output:
// `x_<dtype>` [2, 3] → Identity → `y_<dtype>` [2, 3]. It tests every datatype's wire forms end to end.

/** KServe datatypes onnxruntime-node tensors can hold (all but BF16). */
export const IDENTITY_DTYPES: readonly DataType[] = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'];
export const IDENTITY_SHAPE = [2, 3];

export function identityModel(dtypes: readonly DataType[] = IDENTITY_DTYPES): Uint8Array {
  const value = (name: string, dtype: DataType): onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: DATA_TYPE_TABLE[dtype].onnx, shape: { dim: IDENTITY_SHAPE.map((d) => ({ dimValue: d })) } } },
  });
  const graph: onnx.IGraphProto = {
    name: 'identity',
    input: dtypes.map((t) => value(`x_${t}`, t)),
    output: dtypes.map((t) => value(`y_${t}`, t)),
    node: dtypes.map((t) => ({ opType: 'Identity', input: [`x_${t}`], output: [`y_${t}`], name: `id_${t}` })),
  };
  return onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], producerName: 'onnx-serving tests', graph }).finish();
}

export async function addIdentityVersion(base: string, version: number, dtypes: readonly DataType[] = IDENTITY_DTYPES): Promise<void> {
  const dir = join(base, String(version));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), identityModel(dtypes));
}
