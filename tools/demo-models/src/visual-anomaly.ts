import { attr, GraphBuilder } from './onnx-graph';
import { demoModelOptions, heUniformBound } from './model-options';
import { createPrng } from './prng';

export const VISUAL_ANOMALY_ID = '6687ad3b04248f708c1e0c95';
export const VISUAL_ANOMALY_INPUT = 'input';
export const VISUAL_ANOMALY_OUTPUT = 'output';
/** NCHW, RGB in 0..255 as the proxy's decodeJpeg produces it (no scaling in the signature). */
export const VISUAL_ANOMALY_INPUT_SHAPE = [1, 3, 224, 224] as const;
/** NHWC patch grid: 14 × 14 patches of 16 × 16 pixels, 768 channels each. */
export const VISUAL_ANOMALY_OUTPUT_SHAPE = [1, 14, 14, 768] as const;

const SEED = 0x6687ad3b;
const STEM_CHANNELS = 48;
const EMBED_CHANNELS = VISUAL_ANOMALY_OUTPUT_SHAPE[3];
const POOL = 4;
const PATCH = 4;
// ImageNet statistics on 0..1 RGB, scaled to the 0..255 pixels decodeJpeg hands over: (x/255 - m)/s = (x - 255m)/255s
const MEAN = [0.485, 0.456, 0.406].map((m) => m * 255);
const STD = [0.229, 0.224, 0.225].map((s) => s * 255);

/**
 * A patch-embedding grid: normalise → Conv 3→48 (3×3) → ReLU → MaxPool 4×4 → Conv 48→768 (4×4, stride 4)
 * → Transpose to NHWC. Each output cell embeds one 16 × 16 pixel patch. Weights are seeded, not trained.
 */
export function buildVisualAnomalyModel(): Uint8Array {
  const prng = createPrng(SEED);
  const g = new GraphBuilder('visual_anomaly');
  const input = g.input(VISUAL_ANOMALY_INPUT, 'float32', VISUAL_ANOMALY_INPUT_SHAPE);

  const mean = g.float32('pixel_mean', Float32Array.from(MEAN), [1, 3, 1, 1]);
  const std = g.float32('pixel_std', Float32Array.from(STD), [1, 3, 1, 1]);
  const normalised = g.op('Div', [g.op('Sub', [input, mean]), std]);

  const stemFanIn = 3 * 3 * 3;
  const stemBound = heUniformBound(stemFanIn);
  const stemW = g.float32('stem_weight', prng.fillUniform(STEM_CHANNELS * stemFanIn, -stemBound, stemBound), [STEM_CHANNELS, 3, 3, 3]);
  const stemB = g.float32('stem_bias', prng.fillUniform(STEM_CHANNELS, -0.1, 0.1), [STEM_CHANNELS]);
  const stem = g.op('Conv', [normalised, stemW, stemB], { kernel_shape: attr.ints([3, 3]), pads: attr.ints([1, 1, 1, 1]) });
  const pooled = g.op('MaxPool', [g.op('Relu', [stem])], {
    kernel_shape: attr.ints([POOL, POOL]),
    strides: attr.ints([POOL, POOL]),
  });

  const embedFanIn = STEM_CHANNELS * PATCH * PATCH;
  // Glorot-like bound: the embedding is linear, so no ReLU gain
  const embedBound = Math.sqrt(3 / embedFanIn);
  const embedW = g.float32(
    'patch_embed_weight',
    prng.fillUniform(EMBED_CHANNELS * embedFanIn, -embedBound, embedBound),
    [EMBED_CHANNELS, STEM_CHANNELS, PATCH, PATCH],
  );
  const embedB = g.float32('patch_embed_bias', prng.fillUniform(EMBED_CHANNELS, -0.05, 0.05), [EMBED_CHANNELS]);
  const embedded = g.op('Conv', [pooled, embedW, embedB], {
    kernel_shape: attr.ints([PATCH, PATCH]),
    strides: attr.ints([PATCH, PATCH]),
  });
  g.op('Transpose', [embedded], { perm: attr.ints([0, 2, 3, 1]) }, VISUAL_ANOMALY_OUTPUT);
  g.output(VISUAL_ANOMALY_OUTPUT, 'float32', VISUAL_ANOMALY_OUTPUT_SHAPE);

  return g.encode(
    demoModelOptions('Bundlegate demo: 14×14×768 patch-embedding grid of a 224×224 RGB image (seeded weights, untrained).', {
      'bundlegate.model_id': VISUAL_ANOMALY_ID,
      'bundlegate.seed': String(SEED),
    }),
  );
}
