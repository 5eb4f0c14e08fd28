import sharp from 'sharp';
import { numberToFp16 } from './float16';
import { createImageDecoder, ImageDecodeError, ImageTooLargeError, imageToTensor, sniffImageFormat } from './image';

const W = 4;
const H = 3;
/** Pixel (y, x) of the test image: R = 10y + x, G = 100 + 10y + x, B = 200 + 10y + x. */
const rgb = (y: number, x: number): [number, number, number] => [10 * y + x, 100 + 10 * y + x, 200 + 10 * y + x];

async function testPng(): Promise<Buffer> {
  const raw = Buffer.alloc(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) raw.set(rgb(y, x), (y * W + x) * 3);
  return sharp(raw, { raw: { width: W, height: H, channels: 3 } })
    .png()
    .toBuffer();
}

let png: Buffer;
beforeAll(async () => {
  png = await testPng();
});

describe('imageToTensor layouts and channel orders', () => {
  it('NHWC RGB keeps pixel order: index ((y·W)+x)·3 + c', async () => {
    const t = await imageToTensor(png, { layout: 'NHWC', name: 'input' });
    expect([t.name, t.datatype, t.shape]).toEqual(['input', 'FP32', [1, H, W, 3]]);
    expect(t.data[(0 * W + 0) * 3 + 0]).toBe(0);
    expect(t.data[(1 * W + 2) * 3 + 1]).toBe(112); // G at y=1, x=2
    expect(t.data[(2 * W + 3) * 3 + 2]).toBe(223); // B at y=2, x=3
  });

  it('NCHW RGB puts each channel in its own plane: index c·H·W + y·W + x', async () => {
    const t = await imageToTensor(png, { layout: 'NCHW' });
    expect(t.shape).toEqual([1, 3, H, W]);
    expect(t.data[0 * H * W + 1 * W + 2]).toBe(12); // R at y=1, x=2
    expect(t.data[1 * H * W + 2 * W + 3]).toBe(123); // G at y=2, x=3
    expect(t.data[2 * H * W + 0 * W + 1]).toBe(201); // B at y=0, x=1
  });

  it('NHWC BGR swaps R and B', async () => {
    const t = await imageToTensor(png, { layout: 'NHWC', channelOrder: 'BGR' });
    const at = (y: number, x: number) => Array.from(t.data.slice((y * W + x) * 3, (y * W + x) * 3 + 3));
    expect(at(1, 2)).toEqual([212, 112, 12]);
    expect(at(2, 3)).toEqual([223, 123, 23]);
  });

  it('NCHW BGR puts B in plane 0 and R in plane 2', async () => {
    const t = await imageToTensor(png, { layout: 'NCHW', channelOrder: 'BGR' });
    expect(t.data[0 * H * W + 1 * W + 2]).toBe(212);
    expect(t.data[1 * H * W + 1 * W + 2]).toBe(112);
    expect(t.data[2 * H * W + 1 * W + 2]).toBe(12);
  });

  it('CHW and HWC drop the batch dim', async () => {
    expect((await imageToTensor(png, { layout: 'CHW' })).shape).toEqual([3, H, W]);
    const hwc = await imageToTensor(png, { layout: 'HWC', dtype: 'UINT8' });
    expect(hwc.shape).toEqual([H, W, 3]);
    expect(Array.from(hwc.data.slice(0, 6))).toEqual([0, 100, 200, 1, 101, 201]);
  });
});

describe('imageToTensor values', () => {
  it('applies (x·scale − mean) / std per output channel', async () => {
    // ImageNet normalization as torchvision uses it
    const options = {
      layout: 'NCHW',
      scale: 1 / 255,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    } as const;
    const t = await imageToTensor(png, options);
    // R at y=2, x=3 is 23: (23/255 − 0.485) / 0.229
    expect(t.data[0 * H * W + 2 * W + 3]).toBeCloseTo(-1.724, 4);
    // G at y=0, x=0 is 100: (100/255 − 0.456) / 0.224
    expect(t.data[1 * H * W]).toBeCloseTo(-0.285, 4);
    // B at y=1, x=1 is 211: (211/255 − 0.406) / 0.225
    expect(t.data[2 * H * W + 1 * W + 1]).toBeCloseTo(1.8731, 4);
  });

  it('takes mean/std in the output channel order (BGR means as Caffe models use them)', async () => {
    const t = await imageToTensor(png, { layout: 'NHWC', channelOrder: 'BGR', mean: [104, 117, 123] });
    // y=0, x=0 is R 0, G 100, B 200 → B−104, G−117, R−123
    expect(Array.from(t.data.slice(0, 3))).toEqual([96, -17, -123]);
  });

  it('writes FP16 bit patterns of the same values', async () => {
    const t = await imageToTensor(png, { dtype: 'FP16', scale: 1 / 255, layout: 'NHWC' });
    expect(t.datatype).toBe('FP16');
    expect(t.data[(1 * W + 2) * 3 + 1]).toBe(numberToFp16(112 / 255));
    expect(t.data[(2 * W + 3) * 3 + 2]).toBe(numberToFp16(223 / 255));
  });

  it('decodes lossless WebP, grayscale and RGBA inputs to three channels', async () => {
    const webp = await sharp(png).webp({ lossless: true }).toBuffer();
    const fromWebp = await imageToTensor(webp, { dtype: 'UINT8' });
    expect(Array.from(fromWebp.data)).toEqual(Array.from((await imageToTensor(png, { dtype: 'UINT8' })).data));

    const gray = await sharp(Buffer.from([0, 50, 100, 200]), { raw: { width: 2, height: 2, channels: 1 } })
      .png()
      .toBuffer();
    const g = await imageToTensor(gray, { dtype: 'UINT8', layout: 'HWC' });
    expect([g.shape, Array.from(g.data.slice(9, 12))]).toEqual([
      [2, 2, 3],
      [200, 200, 200],
    ]);

    const rgba = await sharp(Buffer.from([1, 2, 3, 0, 5, 6, 7, 255]), { raw: { width: 2, height: 1, channels: 4 } })
      .png()
      .toBuffer();
    const a = await imageToTensor(rgba, { dtype: 'UINT8', layout: 'HWC' });
    expect(Array.from(a.data)).toEqual([1, 2, 3, 5, 6, 7]); // alpha dropped, not composited
  });

  it("resizes with fit 'fill' by default (stretching) and passes other fits", async () => {
    const wide = await sharp({ create: { width: 8, height: 4, channels: 3, background: { r: 10, g: 20, b: 30 } } })
      .png()
      .toBuffer();
    const filled = await imageToTensor(wide, { dtype: 'UINT8', layout: 'NHWC', resize: { height: 5, width: 3 } });
    expect(filled.shape).toEqual([1, 5, 3, 3]);
    expect(new Set(filled.data)).toEqual(new Set([10, 20, 30]));
    // 'contain' letterboxes the 2:1 image into 4×4 with black bars top and bottom
    const contained = await imageToTensor(wide, {
      dtype: 'UINT8',
      layout: 'HWC',
      resize: { height: 4, width: 4, fit: 'contain' },
    });
    expect(Array.from(contained.data.slice(0, 3))).toEqual([0, 0, 0]);
    expect(Array.from(contained.data.slice(1 * 4 * 3, 1 * 4 * 3 + 3))).toEqual([10, 20, 30]);
  });

  it('applies the EXIF orientation unless told not to', async () => {
    const jpeg = await sharp({ create: { width: 4, height: 2, channels: 3, background: '#808080' } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    expect((await imageToTensor(jpeg, { layout: 'HWC' })).shape).toEqual([4, 2, 3]);
    expect((await imageToTensor(jpeg, { layout: 'HWC', autoOrient: false })).shape).toEqual([2, 4, 3]);
  });

  it('reuses one decoder across images', async () => {
    const decoder = createImageDecoder({ layout: 'NCHW', resize: { height: 2, width: 2 } });
    expect(decoder.options).toMatchObject({
      dtype: 'FP32',
      channelOrder: 'RGB',
      resize: { fit: 'fill', kernel: 'lanczos3' },
    });
    expect(decoder.shapeFor(2, 2)).toEqual([1, 3, 2, 2]);
    const [a, b] = await Promise.all([decoder.decode(png), decoder.decode(png)]);
    expect(a?.shape).toEqual([1, 3, 2, 2]);
    expect(Array.from(a?.data ?? [])).toEqual(Array.from(b?.data ?? []));
  });
});

describe('imageToTensor errors', () => {
  it('reports a corrupted JPEG as corrupt', async () => {
    const pixels = Buffer.alloc(64 * 64 * 3).map((_, i) => (i * 7) & 255);
    const jpeg = await sharp(pixels, { raw: { width: 64, height: 64, channels: 3 } })
      .jpeg()
      .toBuffer();
    const broken = Buffer.from(jpeg);
    for (let i = 400; i < 700; i++) broken[i] = (broken[i] as number) ^ 0xff;
    const error = await imageToTensor(broken).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageDecodeError);
    expect((error as ImageDecodeError).reason).toBe('corrupt');
    expect((error as Error).message).toMatch(/^jpeg image could not be decoded: /);
    const truncated = await imageToTensor(jpeg.subarray(0, jpeg.length / 2)).catch((e: unknown) => e);
    expect((truncated as ImageDecodeError).reason).toBe('corrupt');
  });

  it('reports non-images, empty input and formats not accepted', async () => {
    await expect(imageToTensor(Buffer.from('not an image at all'))).rejects.toMatchObject({
      name: 'ImageDecodeError',
      reason: 'unsupported-format',
    });
    await expect(imageToTensor(Buffer.alloc(0))).rejects.toMatchObject({
      reason: 'empty',
      message: 'image is empty (0 bytes)',
    });
    const gif = await sharp(png).gif().toBuffer();
    await expect(imageToTensor(gif)).rejects.toMatchObject({
      reason: 'unsupported-format',
      message: 'image format gif is not accepted; expected one of jpeg, png, webp',
    });
    expect((await imageToTensor(gif, { formats: ['gif'], dtype: 'UINT8' })).shape).toEqual([1, H, W, 3]);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>');
    await expect(imageToTensor(svg)).rejects.toMatchObject({ reason: 'unsupported-format' });
  });

  it('refuses images above the pixel limit from their header, before decoding', async () => {
    // 3000×3000 of one colour compresses to a small PNG: the classic decompression bomb shape
    const bomb = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#fff' } })
      .png()
      .toBuffer();
    expect(bomb.byteLength).toBeLessThan(200_000);
    const error = await imageToTensor(bomb, { maxPixels: 1_000_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImageTooLargeError);
    expect(error).toMatchObject({ width: 3000, height: 3000, pixels: 9_000_000, limit: 1_000_000 });
    expect((error as Error).message).toBe('image is 3000×3000 = 9000000 pixels; the limit is 1000000');
  });

  it('checks options when the decoder is made', () => {
    expect(() => createImageDecoder({ dtype: 'UINT8', scale: 1 / 255 })).toThrow(
      new TypeError('UINT8 image tensors hold pixel values as decoded; scale/mean/std need FP32 or FP16'),
    );
    expect(() => createImageDecoder({ std: [1, 0, 1] })).toThrow(new RangeError('std must not be 0'));
    expect(() => createImageDecoder({ mean: [1, 2] as unknown as number })).toThrow(
      new TypeError('mean must be a finite number or 3 finite numbers, got array(2)'),
    );
    expect(() => createImageDecoder({ layout: 'NWHC' as 'NHWC' })).toThrow(
      new TypeError('layout "NWHC" is not one of NCHW, NHWC, CHW, HWC'),
    );
    expect(() => createImageDecoder({ resize: { height: 0, width: 4 } })).toThrow(
      new RangeError('resize.height must be a positive integer, got 0'),
    );
    expect(() => createImageDecoder({ maxPixels: 0 })).toThrow(
      new RangeError('maxPixels must be a positive integer, got 0'),
    );
  });
});

describe('sniffImageFormat', () => {
  it('names the formats whose first bytes are fixed, as sharp does', async () => {
    const pixels = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).png().toBuffer();
    for (const format of ['jpeg', 'png', 'webp', 'gif'] as const) {
      const encoded = await sharp(pixels).toFormat(format).toBuffer();
      expect(sniffImageFormat(encoded)).toBe(format);
      expect((await sharp(encoded).metadata()).format).toBe(format);
    }
    expect(sniffImageFormat(Buffer.from('not an image at all'))).toBeUndefined();
    expect(sniffImageFormat(Buffer.from([0xff, 0xd8]))).toBeUndefined();
    expect(sniffImageFormat(new Uint8Array(0))).toBeUndefined();
  });
});
