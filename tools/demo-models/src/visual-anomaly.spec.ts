import * as ort from 'onnxruntime-node';
import { renderSampleImages, type SampleImage } from './sample-images';
import { float32Data, imageToNchw } from './spec-helpers';
import {
  buildVisualAnomalyModel,
  VISUAL_ANOMALY_INPUT,
  VISUAL_ANOMALY_INPUT_SHAPE,
  VISUAL_ANOMALY_OUTPUT,
  VISUAL_ANOMALY_OUTPUT_SHAPE,
} from './visual-anomaly';

const [, ROWS, COLS, CHANNELS] = VISUAL_ANOMALY_OUTPUT_SHAPE;
const PATCH = VISUAL_ANOMALY_INPUT_SHAPE[2] / ROWS;

describe('visual-anomaly model', () => {
  let session: ort.InferenceSession;
  let samples: SampleImage[];

  beforeAll(async () => {
    session = await ort.InferenceSession.create(buildVisualAnomalyModel());
    samples = await renderSampleImages();
  });
  afterAll(() => session.release());

  async function embed(input: ort.Tensor): Promise<ort.Tensor> {
    const out = (await session.run({ [VISUAL_ANOMALY_INPUT]: input }))[VISUAL_ANOMALY_OUTPUT];
    if (out === undefined) throw new Error('no output');
    return out;
  }

  it('declares one float32 input [1,3,224,224] and one float32 output [1,14,14,768]', () => {
    expect(session.inputMetadata).toEqual([
      expect.objectContaining({ name: 'input', isTensor: true, type: 'float32', shape: [1, 3, 224, 224] }),
    ]);
    expect(session.outputMetadata).toEqual([
      expect.objectContaining({ name: 'output', isTensor: true, type: 'float32', shape: [1, 14, 14, 768] }),
    ]);
  });

  it('embeds a decoded sample into a finite, non-constant 14×14×768 grid', async () => {
    const sample = samples.find((s) => s.fileName.startsWith('shapes'));
    const out = await embed(await imageToNchw(sample!.bytes, 224));
    expect(out.type).toBe('float32');
    expect(out.dims).toEqual([1, 14, 14, 768]);
    const data = float32Data(out);
    expect(data.every(Number.isFinite)).toBe(true);
    const mean = data.reduce((s, v) => s + v, 0) / data.length;
    const std = Math.sqrt(data.reduce((s, v) => s + (v - mean) ** 2, 0) / data.length);
    expect(std).toBeGreaterThan(0.1);
    // patches of flat sky and of the house must not embed alike
    const cell = (r: number, c: number) => data.subarray((r * COLS + c) * CHANNELS, (r * COLS + c + 1) * CHANNELS);
    expect(Array.from(cell(0, 0))).not.toEqual(Array.from(cell(9, 5)));
  });

  it('gives different grids for different images', async () => {
    const [a, b] = await Promise.all(samples.slice(0, 2).map(async (s) => float32Data(await embed(await imageToNchw(s.bytes, 224)))));
    let diff = 0;
    for (let i = 0; i < a!.length; i++) diff += Math.abs(a![i]! - b![i]!);
    expect(diff / a!.length).toBeGreaterThan(0.05);
  });

  it('changes only the grid cell whose 16×16 patch changed', async () => {
    const base = new Float32Array(3 * 224 * 224).fill(0.5);
    const changed = base.slice();
    const [row, col] = [3, 7];
    // interior pixels only: the 3×3 stem sees one pixel past each patch edge
    for (let c = 0; c < 3; c++) {
      for (let y = row * PATCH + 2; y < (row + 1) * PATCH - 2; y++) {
        for (let x = col * PATCH + 2; x < (col + 1) * PATCH - 2; x++) changed[c * 224 * 224 + y * 224 + x] = (x * y) % 2;
      }
    }
    const shape = [...VISUAL_ANOMALY_INPUT_SHAPE];
    const before = float32Data(await embed(new ort.Tensor('float32', base, shape)));
    const after = float32Data(await embed(new ort.Tensor('float32', changed, shape)));
    const changedCells: string[] = [];
    for (let r = 0; r < ROWS; r++) {
      for (let c = 0; c < COLS; c++) {
        const offset = (r * COLS + c) * CHANNELS;
        for (let k = offset; k < offset + CHANNELS; k++) {
          if (before[k] !== after[k]) {
            changedCells.push(`${r},${c}`);
            break;
          }
        }
      }
    }
    expect(changedCells).toEqual([`${row},${col}`]);
  });
});
