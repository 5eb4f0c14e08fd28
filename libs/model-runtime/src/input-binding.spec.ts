import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { isBgError, type BgError } from '@bundlegate/service-kit';
import type { Tensor } from '@bundlegate/tensors';
import { SAMPLES } from '../test/fixtures';
import { createInputBinder, imageInputLayout } from './input-binding';
import type { TensorSpec } from './tensor-spec';

const nhwc: TensorSpec = { name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3] };
const nchw: TensorSpec = { name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224] };
const dynamic: TensorSpec = { name: 'pixels', datatype: 'UINT8', shape: [-1, -1, -1, 3] };
const scalar: TensorSpec = { name: 'threshold', datatype: 'FP32', shape: [1] };

const jpeg = readFileSync(join(SAMPLES, 'gradient-320x240.jpg'));
const png = readFileSync(join(SAMPLES, 'checkerboard-640x480.png'));

const bytes = (name: string, ...elements: Uint8Array[]): Tensor =>
  ({ name, datatype: 'BYTES', shape: [elements.length], data: elements }) as Tensor;
const fp32 = (name: string, shape: number[]): Tensor =>
  ({ name, datatype: 'FP32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }) as Tensor;

async function rejection(promise: Promise<unknown>): Promise<BgError> {
  try {
    await promise;
  } catch (err) {
    if (isBgError(err)) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('imageInputLayout', () => {
  it('finds channels last or second in 4-D image dtypes', () => {
    expect(imageInputLayout(nhwc)).toEqual({ layout: 'NHWC', batch: 1, height: 64, width: 64 });
    expect(imageInputLayout(nchw)).toEqual({ layout: 'NCHW', batch: 1, height: 224, width: 224 });
    expect(imageInputLayout(dynamic)).toEqual({ layout: 'NHWC', batch: -1, height: -1, width: -1 });
    expect(imageInputLayout(scalar)).toBeUndefined();
    expect(imageInputLayout({ name: 'x', datatype: 'INT64', shape: [1, 8, 8, 3] })).toBeUndefined();
    expect(imageInputLayout({ name: 'x', datatype: 'FP32', shape: [1, 8, 8, 4] })).toBeUndefined();
  });
});

describe('createInputBinder', () => {
  it('passes matching tensors through without copying, in declared order', async () => {
    const binder = createInputBinder([nhwc, scalar]);
    const t = fp32('threshold', [1]);
    const img = fp32('image_input', [1, 64, 64, 3]);
    const feeds = await binder.bind([t, img]);
    expect(feeds.map((f) => f.name)).toEqual(['image_input', 'threshold']);
    expect(feeds[0]?.data).toBe(img.data);
    expect(feeds[0]).toMatchObject({ type: 'float32', dims: [1, 64, 64, 3] });
  });

  it('accepts any size where the model declares -1', async () => {
    const binder = createInputBinder([{ name: 'x', datatype: 'FP32', shape: [-1, 2] }]);
    await expect(binder.bind([fp32('x', [5, 2])])).resolves.toHaveLength(1);
  });

  it.each([
    ['an unknown input', [fp32('image', [1, 64, 64, 3])], 'BG_UNEXPECTED_INPUT', 'unexpected input "image"; expected inputs "image_input"'],
    ['a missing input', [], 'BG_MISSING_INPUT', 'missing input "image_input"; expected FP32 [1,64,64,3]'],
    ['a wrong datatype', [{ name: 'image_input', datatype: 'FP64', shape: [1, 64, 64, 3], data: new Float64Array(12288) }], 'BG_INVALID_DTYPE', 'input "image_input" has datatype FP64; expected FP32'],
    ['a wrong shape', [fp32('image_input', [1, 3, 64, 64])], 'BG_INVALID_SHAPE', 'input "image_input" has shape [1, 3, 64, 64]; expected [1,64,64,3]'],
    ['a wrong rank', [fp32('image_input', [64, 64, 3])], 'BG_INVALID_SHAPE', 'has shape [64, 64, 3]; expected [1,64,64,3]'],
    ['an input given twice', [fp32('image_input', [1, 64, 64, 3]), fp32('image_input', [1, 64, 64, 3])], 'BG_INVALID_ARGUMENT', 'each input given once'],
  ])('rejects %s, saying what was expected', async (_what, tensors, code, message) => {
    const err = await rejection(createInputBinder([nhwc]).bind(tensors as Tensor[]));
    expect(err.code).toBe(code);
    expect(err.message).toContain(message);
    expect(err.httpStatus).toBe(400);
  });

  it('decodes a JPEG for an NHWC input to 0..255 RGB at the model size', async () => {
    const [feed] = await createInputBinder([nhwc]).bind([bytes('image_input', jpeg)]);
    expect(feed).toMatchObject({ name: 'image_input', type: 'float32', dims: [1, 64, 64, 3] });
    const { data: expected } = await sharp(jpeg).resize(64, 64, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(feed?.data as Float32Array)).toEqual(Array.from(expected));
  });

  it('decodes a PNG for an NCHW input into channel planes', async () => {
    const [feed] = await createInputBinder([nchw]).bind([bytes('input', png)]);
    expect(feed?.dims).toEqual([1, 3, 224, 224]);
    const { data: hwc } = await sharp(png).resize(224, 224, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const planes = feed?.data as Float32Array;
    const area = 224 * 224;
    for (const [y, x] of [[0, 0], [10, 200], [223, 223], [111, 57]] as const) {
      for (let c = 0; c < 3; c++) expect(planes[c * area + y * 224 + x]).toBe(hwc[(y * 224 + x) * 3 + c]);
    }
  });

  it('stacks N images into a batch of N for a dynamic batch', async () => {
    const spec: TensorSpec = { name: 'images', datatype: 'UINT8', shape: [-1, 32, 32, 3] };
    const [feed] = await createInputBinder([spec]).bind([bytes('images', jpeg, png, jpeg)]);
    expect(feed?.dims).toEqual([3, 32, 32, 3]);
    const data = feed?.data as Uint8Array;
    const per = 32 * 32 * 3;
    expect(Buffer.from(data.subarray(0, per)).equals(Buffer.from(data.subarray(2 * per)))).toBe(true);
    expect(Buffer.from(data.subarray(0, per)).equals(Buffer.from(data.subarray(per, 2 * per)))).toBe(false);
  });

  it('keeps the image size where height and width are dynamic, and wants one size per batch', async () => {
    const [feed] = await createInputBinder([dynamic]).bind([bytes('pixels', jpeg)]);
    expect(feed?.dims).toEqual([1, 240, 320, 3]);
    const err = await rejection(createInputBinder([dynamic]).bind([bytes('pixels', jpeg, png)]));
    expect(err.code).toBe('BG_INVALID_SHAPE');
    expect(err.message).toContain('input "pixels[1]" has shape [1, 480, 640, 3]');
  });

  it('wants as many images as a fixed batch holds', async () => {
    const err = await rejection(createInputBinder([nhwc]).bind([bytes('image_input', jpeg, jpeg)]));
    expect(err.code).toBe('BG_INVALID_SHAPE');
    expect(err.message).toBe('input "image_input" has shape [2]; expected FP32 [1,64,64,3], or BYTES [1] holding one encoded image');
  });

  it('reports undecodable and oversized images as client errors', async () => {
    const broken = await rejection(createInputBinder([nhwc]).bind([bytes('image_input', Buffer.from('definitely not a jpeg'))]));
    expect(broken.code).toBe('BG_IMAGE_DECODE');
    expect(broken.httpStatus).toBe(400);
    const big = await rejection(createInputBinder([nhwc], { maxImagePixels: 1000 }).bind([bytes('image_input', jpeg)]));
    expect(big.code).toBe('BG_IMAGE_TOO_LARGE');
    expect(big.message).toBe('input "image_input" is a 320x240 image; at most 1000 pixels are accepted');
  });

  it('refuses encoded bytes for inputs that are not images', async () => {
    const err = await rejection(createInputBinder([scalar]).bind([bytes('threshold', jpeg)]));
    expect(err.code).toBe('BG_INVALID_DTYPE');
    expect(err.message).toContain('expected FP32 (encoded images are accepted only by image-shaped inputs)');
  });
});
