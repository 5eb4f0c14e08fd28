import type { ModelOptions } from './onnx-graph';

/** ONNX IR 7 / opset 13: old enough for every OVMS, Triton and onnxruntime release users still run. */
export const DEMO_IR_VERSION = 7;
export const DEMO_OPSET = 13;

export function demoModelOptions(docString: string, metadata: Readonly<Record<string, string>>): ModelOptions {
  return {
    irVersion: DEMO_IR_VERSION,
    opsetImports: [{ domain: '', version: DEMO_OPSET }],
    producerName: '@bundlegate/demo-models',
    producerVersion: '1',
    docString,
    metadata,
  };
}

/** He-uniform bound for a layer followed by ReLU: keeps activations at a stable scale through the net. */
export function heUniformBound(fanIn: number): number {
  return Math.sqrt(6 / fanIn);
}
