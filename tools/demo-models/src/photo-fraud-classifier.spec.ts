import * as ort from 'onnxruntime-node';
import {
  buildPhotoFraudClassifierModel,
  PHOTO_FRAUD_CLASSES,
  PHOTO_FRAUD_INPUT,
  PHOTO_FRAUD_INPUT_SHAPE,
  PHOTO_FRAUD_LABEL_OUTPUT,
  PHOTO_FRAUD_SCORE_OUTPUT,
} from './photo-fraud-classifier';
import { renderSampleImages, type SampleImage } from './sample-images';
import { float32Data, imageToNhwc } from './spec-helpers';

interface Classification {
  label: string;
  probability: number;
}

describe('photo-fraud-classifier model', () => {
  let session: ort.InferenceSession;
  let samples: SampleImage[];

  beforeAll(async () => {
    session = await ort.InferenceSession.create(buildPhotoFraudClassifierModel());
    samples = await renderSampleImages();
  });
  afterAll(() => session.release());

  async function classify(input: ort.Tensor): Promise<Classification> {
    const out = await session.run({ [PHOTO_FRAUD_INPUT]: input });
    const label = out[PHOTO_FRAUD_LABEL_OUTPUT];
    const probability = out[PHOTO_FRAUD_SCORE_OUTPUT];
    expect(label?.type).toBe('string');
    expect(label?.dims).toEqual([1]);
    expect(probability?.type).toBe('float32');
    expect(probability?.dims).toEqual([1]);
    return { label: (label?.data as string[])[0] as string, probability: float32Data(probability)[0] as number };
  }

  async function classifySample(prefix: string): Promise<Classification> {
    const sample = samples.find((s) => s.fileName.startsWith(prefix));
    if (sample === undefined) throw new Error(`no sample ${prefix}`);
    return classify(await imageToNhwc(sample.bytes, PHOTO_FRAUD_INPUT_SHAPE[1]));
  }

  it('declares a float32 NHWC input [1,64,64,3], a string label [1] and a float32 probability [1]', () => {
    expect(session.inputMetadata).toEqual([
      expect.objectContaining({ name: 'image_input', type: 'float32', shape: [1, 64, 64, 3] }),
    ]);
    expect(session.outputMetadata).toEqual([
      expect.objectContaining({ name: 'label', type: 'string', shape: [1] }),
      expect.objectContaining({ name: 'probability', type: 'float32', shape: [1] }),
    ]);
  });

  it('returns a known class and its probability, at least 1/classes, for every sample', async () => {
    for (const s of samples) {
      const result = await classify(await imageToNhwc(s.bytes, 64));
      expect(PHOTO_FRAUD_CLASSES).toContain(result.label);
      expect(result.probability).toBeGreaterThanOrEqual(1 / PHOTO_FRAUD_CLASSES.length);
      expect(result.probability).toBeLessThanOrEqual(1);
    }
  });

  it('scores a dark image and bright images differently', async () => {
    const night = await classifySample('night');
    const shapes = await classifySample('shapes');
    const checkerboard = await classifySample('checkerboard');
    expect(Math.abs(night.probability - shapes.probability)).toBeGreaterThan(0.01);
    expect(Math.abs(night.probability - checkerboard.probability)).toBeGreaterThan(0.01);
  });

  it('labels a black frame and a white frame differently', async () => {
    const frame = (value: number) => new ort.Tensor('float32', new Float32Array(64 * 64 * 3).fill(value), [...PHOTO_FRAUD_INPUT_SHAPE]);
    const black = await classify(frame(0));
    const white = await classify(frame(255));
    expect(black.label).not.toBe(white.label);
  });
});
