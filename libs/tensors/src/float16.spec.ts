import fc from 'fast-check';
import {
  bf16ArrayToFloat32,
  bf16ToNumber,
  fp16ArrayToFloat32,
  fp16ToNumber,
  numberToBf16,
  numberToFp16,
  toBf16Array,
  toFp16Array,
} from './float16';

const hex = (n: number) => `0x${n.toString(16).padStart(4, '0')}`;

describe('FP16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [1 / 3, 0x3555],
    [65504, 0x7bff], // largest finite
    [65519.99, 0x7bff], // just below the midpoint to 65536 rounds down
    [65520, 0x7c00], // the midpoint ties to even, which is Infinity
    [1e6, 0x7c00],
    [-1e6, 0xfc00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [0, 0x0000],
    [-0, 0x8000],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [1023 * 2 ** -24, 0x03ff], // largest subnormal
    [2 ** -25, 0x0000], // half the smallest subnormal ties to even 0
    [2 ** -25 + 2 ** -40, 0x0001], // just above the midpoint
    [3 * 2 ** -25, 0x0002], // midpoint of 1 and 2 ulps ties to even 2
    [-(2 ** -26), 0x8000], // underflow keeps the sign
    [1 + 2 ** -11, 0x3c00], // midpoint ties to even
    [1 + 3 * 2 ** -11, 0x3c02], // midpoint ties to even (up)
    [1 + 2 ** -11 + 2 ** -40, 0x3c01], // rounding via float32 first would tie here and give 0x3c00
  ])('%p → %s', (x, bits) => {
    expect(hex(numberToFp16(x))).toBe(hex(bits));
  });

  it('encodes NaN as the quiet NaN and decodes every NaN pattern to NaN', () => {
    expect(hex(numberToFp16(Number.NaN))).toBe('0x7e00');
    expect(fp16ToNumber(0x7c01)).toBeNaN();
    expect(fp16ToNumber(0xfe00)).toBeNaN();
  });

  it('decodes specials and subnormals exactly', () => {
    expect(fp16ToNumber(0x7bff)).toBe(65504);
    expect(fp16ToNumber(0x0001)).toBe(2 ** -24);
    expect(fp16ToNumber(0x83ff)).toBe(-1023 * 2 ** -24);
    expect(fp16ToNumber(0xfc00)).toBe(-Infinity);
    expect(Object.is(fp16ToNumber(0x8000), -0)).toBe(true);
  });

  it('round-trips all 65536 bit patterns (NaNs to NaN)', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const x = fp16ToNumber(bits);
      if (Number.isNaN(x)) expect(fp16ToNumber(numberToFp16(x))).toBeNaN();
      else if (numberToFp16(x) !== bits) throw new Error(`${hex(bits)} → ${x} → ${hex(numberToFp16(x))}`);
    }
  });

  it('rounds any double to the nearest FP16, ties to even', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: -70000, max: 70000, noNaN: true }),
          fc.double({ min: -1e-4, max: 1e-4, noNaN: true }),
        ),
        (x) => {
          nearest(x, numberToFp16(x), fp16ToNumber, 0x7bff);
        },
      ),
    );
  });

  it('float32 fast path matches the double path for every float32', () => {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 64 }), (values) => {
        const fast = toFp16Array(values);
        const slow = toFp16Array(Array.from(values));
        for (let i = 0; i < values.length; i++) {
          // NaN payloads may differ; both must stay NaN
          if (Number.isNaN(values[i])) expect(fp16ToNumber(fast[i] as number)).toBeNaN();
          else expect(hex(fast[i] as number)).toBe(hex(slow[i] as number));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('array decoding matches scalar decoding for all patterns', () => {
    const all = new Uint16Array(0x10000).map((_, i) => i);
    const out = fp16ArrayToFloat32(all);
    for (let i = 0; i < all.length; i++) {
      if (!Object.is(out[i], Math.fround(fp16ToNumber(i))))
        throw new Error(`${hex(i)}: ${out[i]} vs ${fp16ToNumber(i)}`);
    }
  });

  it('checks an output buffer length', () => {
    expect(() => toFp16Array([1, 2], new Uint16Array(3))).toThrow(new RangeError('output has 3 elements, input has 2'));
  });
});

describe('BF16', () => {
  it.each([
    [1, 0x3f80],
    [-1, 0xbf80],
    [3.140625, 0x4049],
    [Math.PI, 0x4049],
    [1 + 2 ** -8, 0x3f80], // midpoint ties to even
    [1 + 3 * 2 ** -8, 0x3f82],
    [1 + 2 ** -8 + 2 ** -40, 0x3f81],
    [3.3895313892515355e38, 0x7f7f], // largest finite
    [3.4e38, 0x7f80], // rounds past the largest finite
    [-Infinity, 0xff80],
    [-0, 0x8000],
    [2 ** -126, 0x0080], // smallest normal
    [2 ** -133, 0x0001], // smallest subnormal
    [2 ** -134, 0x0000], // midpoint ties to even 0
    [Number.NaN, 0x7fc0],
  ])('%p → %s', (x, bits) => {
    expect(hex(numberToBf16(x))).toBe(hex(bits));
  });

  it('round-trips all 65536 bit patterns (NaNs to NaN)', () => {
    for (let bits = 0; bits < 0x10000; bits++) {
      const x = bf16ToNumber(bits);
      if (Number.isNaN(x)) expect(bf16ToNumber(numberToBf16(x))).toBeNaN();
      else if (numberToBf16(x) !== bits) throw new Error(`${hex(bits)} → ${x} → ${hex(numberToBf16(x))}`);
    }
  });

  it('rounds any double to the nearest BF16, ties to even', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, min: -3.3e38, max: 3.3e38 }),
          fc.double({ noNaN: true, min: -1e-37, max: 1e-37 }),
        ),
        (x) => {
          nearest(x, numberToBf16(x), bf16ToNumber, 0x7f7f);
        },
      ),
    );
  });

  it('float32 fast path matches the double path, keeping NaN', () => {
    fc.assert(
      fc.property(fc.float32Array({ maxLength: 64 }), (values) => {
        const fast = toBf16Array(values);
        const slow = toBf16Array(Array.from(values));
        for (let i = 0; i < values.length; i++) {
          if (Number.isNaN(values[i])) expect(bf16ToNumber(fast[i] as number)).toBeNaN();
          else expect(hex(fast[i] as number)).toBe(hex(slow[i] as number));
        }
      }),
      { numRuns: 300 },
    );
    // a signalling-NaN payload only in the low bits must not truncate to Infinity
    const sNaN = new Float32Array(new Uint32Array([0x7f800001]).buffer);
    expect(bf16ToNumber(toBf16Array(sNaN)[0] as number)).toBeNaN();
  });

  it('array decoding is exact', () => {
    const bits = Uint16Array.from([0x3f80, 0xc049, 0x0001, 0x7f80, 0x8000]);
    expect(Array.from(bf16ArrayToFloat32(bits))).toEqual([1, -3.140625, 2 ** -133, Infinity, -0]);
  });
});

/** Asserts `bits` is the nearest finite value to x (ties to an even pattern), checking both neighbours. */
function nearest(x: number, bits: number, decode: (b: number) => number, maxFinite: number): void {
  const v = decode(bits);
  const magnitude = bits & 0x7fff;
  if (magnitude > maxFinite) {
    // overflowed: x must be at least halfway past the largest finite value
    const max = decode(maxFinite);
    const next = 2 * max - decode(maxFinite - 1);
    expect(Math.abs(x)).toBeGreaterThanOrEqual((max + next) / 2);
    return;
  }
  const neighbours = [magnitude - 1, magnitude + 1]
    .filter((m) => m >= 0 && m <= maxFinite)
    .map((m) => decode((bits & 0x8000) | m));
  for (const n of neighbours) {
    const d = Math.abs(x - v);
    const dn = Math.abs(x - n);
    if (dn < d || (dn === d && magnitude % 2 === 1)) {
      throw new Error(`${x} → ${hex(bits)} (${v}) but ${n} is nearer or the even tie`);
    }
  }
}
