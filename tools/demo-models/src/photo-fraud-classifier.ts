import { attr, GraphBuilder } from './onnx-graph';
import { demoModelOptions, heUniformBound } from './model-options';
import { createPrng } from './prng';

export const PHOTO_FRAUD_CLASSIFIER_ID = '6684168e04248f708c1e0c93';
export const PHOTO_FRAUD_INPUT = 'image_input';
export const PHOTO_FRAUD_LABEL_OUTPUT = 'label';
export const PHOTO_FRAUD_SCORE_OUTPUT = 'probability';
/** NHWC RGB in 0..255: the layout OVMS fills when it decodes a binary (encoded image) input itself. */
export const PHOTO_FRAUD_INPUT_SHAPE = [1, 64, 64, 3] as const;
export const PHOTO_FRAUD_CLASSES = ['authentic', 'tampered'] as const;

const SEED = 0x6684168e;
const FEATURES = 8;

/**
 * Scale to 0..1 → Conv 3→8 (3×3, stride 2) → ReLU → global average pool → Gemm 8→2 → Softmax; outputs the
 * argmax class name (Gather over a string constant) and its probability. Weights are seeded, not trained.
 */
export function buildPhotoFraudClassifierModel(): Uint8Array {
  const prng = createPrng(SEED);
  const classes = PHOTO_FRAUD_CLASSES.length;
  const g = new GraphBuilder('photo_fraud_classifier');
  const input = g.input(PHOTO_FRAUD_INPUT, 'float32', PHOTO_FRAUD_INPUT_SHAPE);

  const nchw = g.op('Transpose', [input], { perm: attr.ints([0, 3, 1, 2]) });
  const scaled = g.op('Mul', [nchw, g.float32('pixel_scale', Float32Array.of(1 / 255), [])]);

  const fanIn = 3 * 3 * 3;
  const bound = heUniformBound(fanIn);
  const convW = g.float32('conv_weight', prng.fillUniform(FEATURES * fanIn, -bound, bound), [FEATURES, 3, 3, 3]);
  const convB = g.float32('conv_bias', prng.fillUniform(FEATURES, -0.1, 0.1), [FEATURES]);
  const features = g.op('Conv', [scaled, convW, convB], {
    kernel_shape: attr.ints([3, 3]),
    strides: attr.ints([2, 2]),
    pads: attr.ints([1, 1, 1, 1]),
  });
  const pooled = g.op('GlobalAveragePool', [g.op('Relu', [features])]);
  const flat = g.op('Flatten', [pooled], { axis: attr.int(1) });

  // Wide enough that the class probabilities move visibly between different images
  const headBound = 4 * heUniformBound(FEATURES);
  const headW = g.float32('head_weight', prng.fillUniform(FEATURES * classes, -headBound, headBound), [FEATURES, classes]);
  const headB = g.float32('head_bias', prng.fillUniform(classes, -0.1, 0.1), [classes]);
  const probabilities = g.op('Softmax', [g.op('Gemm', [flat, headW, headB])], { axis: attr.int(1) });

  g.op('ReduceMax', [probabilities], { axes: attr.ints([1]), keepdims: attr.int(0) }, PHOTO_FRAUD_SCORE_OUTPUT);
  const best = g.op('ArgMax', [probabilities], { axis: attr.int(1), keepdims: attr.int(0) });
  const names = g.strings('class_names', PHOTO_FRAUD_CLASSES, [classes]);
  g.op('Gather', [names, best], { axis: attr.int(0) }, PHOTO_FRAUD_LABEL_OUTPUT);

  g.output(PHOTO_FRAUD_LABEL_OUTPUT, 'string', [1]);
  g.output(PHOTO_FRAUD_SCORE_OUTPUT, 'float32', [1]);

  return g.encode(
    demoModelOptions(`Bundlegate demo: ${PHOTO_FRAUD_CLASSES.join(' / ')} classifier of a 64×64 RGB image (seeded weights, untrained).`, {
      'bundlegate.model_id': PHOTO_FRAUD_CLASSIFIER_ID,
      'bundlegate.seed': String(SEED),
      'bundlegate.classes': PHOTO_FRAUD_CLASSES.join(','),
    }),
  );
}
