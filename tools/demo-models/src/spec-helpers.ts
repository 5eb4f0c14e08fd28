import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

/** Decodes and resizes an image to RGB bytes, as the proxy's decodeJpeg and OVMS's binary inputs do. */
async function decodeRgb(encoded: Uint8Array, width: number, height: number): Promise<Buffer> {
  return sharp(encoded).removeAlpha().resize(width, height, { fit: 'fill' }).raw().toBuffer();
}

/** NCHW float32 in 0..255: the visual-anomaly input after decodeJpeg with channelFirstRaster. */
export async function imageToNchw(encoded: Uint8Array, size: number): Promise<ort.Tensor> {
  const rgb = await decodeRgb(encoded, size, size);
  const plane = size * size;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[c * plane + i] = rgb[i * 3 + c] ?? 0;
  }
  return new ort.Tensor('float32', data, [1, 3, size, size]);
}

/** NHWC float32 in 0..255: the photo-fraud-classifier input as OVMS fills it from encoded bytes. */
export async function imageToNhwc(encoded: Uint8Array, size: number): Promise<ort.Tensor> {
  const rgb = await decodeRgb(encoded, size, size);
  return new ort.Tensor('float32', Float32Array.from(rgb), [1, size, size, 3]);
}

export function float32Data(tensor: ort.Tensor | undefined): Float32Array {
  if (tensor?.type !== 'float32') throw new TypeError(`expected a float32 tensor, got ${tensor?.type}`);
  return tensor.data as Float32Array;
}
