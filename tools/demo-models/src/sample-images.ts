import sharp from 'sharp';
import { createPrng } from './prng';

export interface SampleImage {
  fileName: string;
  width: number;
  height: number;
  /** One line for the bundle README. */
  description: string;
  bytes: Buffer;
}

type Rgb = readonly [number, number, number];
type Painter = (x: number, y: number) => Rgb;

interface SampleSpec {
  fileName: string;
  width: number;
  height: number;
  description: string;
  paint: Painter;
}

const SEED = 0x5a3b1e;

// Painters avoid `Math` in per-pixel code: global lookups are slow inside jest's sandbox
function rasterize(width: number, height: number, paint: Painter): Buffer {
  // Uint8ClampedArray clamps to 0..255 and rounds, so painters may return any number
  const pixels = new Uint8ClampedArray(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = paint(x, y);
      const i = (y * width + x) * 3;
      pixels[i] = r;
      pixels[i + 1] = g;
      pixels[i + 2] = b;
    }
  }
  return Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
}

function gradient(width: number, height: number): Painter {
  return (x, y) => [(255 * x) / (width - 1), (255 * y) / (height - 1), 255 - (255 * x) / (width - 1)];
}

/** Sky, ground, a sun, a house: distinct flat regions and edges, like a real photo's structure. */
function shapes(width: number, height: number): Painter {
  const horizon = Math.round(height * 0.62);
  const sun = { x: width * 0.78, y: height * 0.22, r: height * 0.1 };
  const house = { left: width * 0.2, right: width * 0.45, top: height * 0.42, bottom: horizon + height * 0.1 };
  const roofApex = { x: (house.left + house.right) / 2, y: height * 0.26 };
  return (x, y) => {
    if ((x - sun.x) ** 2 + (y - sun.y) ** 2 <= sun.r ** 2) return [255, 214, 60];
    if (x >= house.left && x <= house.right && y >= house.top && y <= house.bottom) {
      const door = x > roofApex.x - width * 0.03 && x < roofApex.x + width * 0.03 && y > house.bottom - height * 0.12;
      return door ? [90, 50, 20] : [200, 60, 50];
    }
    const halfWidth = ((y - roofApex.y) / (house.top - roofApex.y)) * ((house.right - house.left) / 2 + width * 0.02);
    const dx = x - roofApex.x;
    if (y >= roofApex.y && y < house.top && dx <= halfWidth && -dx <= halfWidth) return [110, 40, 40];
    if (y >= horizon) return [60, 140 - (40 * (y - horizon)) / (height - horizon), 50];
    return [120 + (60 * y) / horizon, 170 + (50 * y) / horizon, 235];
  };
}

/** A dark, noisy scene with one dim light: the low-exposure case next to the bright samples. */
function night(width: number, height: number): Painter {
  const prng = createPrng(SEED);
  const noise = prng.fillUniform(width * height, -6, 6);
  const moon = { x: width * 0.3, y: height * 0.3, r: height * 0.08 };
  return (x, y) => {
    const n = noise[y * width + x] ?? 0;
    if ((x - moon.x) ** 2 + (y - moon.y) ** 2 <= moon.r ** 2) return [170 + n, 170 + n, 150 + n];
    return [12 + n, 14 + n, 28 + n];
  };
}

function checkerboard(square: number): Painter {
  return (x, y) => {
    if (x - y < square / 2 && y - x < square / 2) return [220, 30, 30];
    return (((x / square) | 0) + ((y / square) | 0)) % 2 === 0 ? [245, 245, 245] : [20, 20, 20];
  };
}

const SPECS: readonly SampleSpec[] = [
  { fileName: 'gradient-320x240.jpg', width: 320, height: 240, description: 'smooth red/green/blue gradient', paint: gradient(320, 240) },
  { fileName: 'shapes-640x480.jpg', width: 640, height: 480, description: 'sky, ground, sun and a house: flat regions and sharp edges', paint: shapes(640, 480) },
  { fileName: 'night-320x240.jpg', width: 320, height: 240, description: 'dark noisy scene with a dim moon (low exposure)', paint: night(320, 240) },
  { fileName: 'checkerboard-640x480.png', width: 640, height: 480, description: 'black/white checkerboard with a red diagonal (lossless PNG)', paint: checkerboard(40) },
];

async function encode(spec: SampleSpec): Promise<Buffer> {
  const raw = rasterize(spec.width, spec.height, spec.paint);
  const image = sharp(raw, { raw: { width: spec.width, height: spec.height, channels: 3 } });
  // Fixed encoder settings: the bytes must not change between runs
  return spec.fileName.endsWith('.png')
    ? image.png({ compressionLevel: 9, adaptiveFiltering: false }).toBuffer()
    : image.jpeg({ quality: 90, chromaSubsampling: '4:2:0', mozjpeg: false }).toBuffer();
}

/** The demo bundle's sample images, rendered from code (no image is downloaded or stored as a source). */
export async function renderSampleImages(): Promise<SampleImage[]> {
  return Promise.all(
    SPECS.map(async (spec) => ({
      fileName: spec.fileName,
      width: spec.width,
      height: spec.height,
      description: spec.description,
      bytes: await encode(spec),
    })),
  );
}
