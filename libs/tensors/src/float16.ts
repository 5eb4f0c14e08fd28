/**
 * IEEE 754 binary16 (FP16) and bfloat16 (BF16) ⇄ number. Tensors keep both as raw 16-bit patterns in a Uint16Array;
 * these helpers convert with round-to-nearest-even, keeping NaN, ±Infinity, -0 and subnormals.
 */

interface MiniFloat {
  readonly mantissaBits: number;
  readonly bias: number;
  /** Biased exponent of Infinity/NaN (all ones). */
  readonly maxExponent: number;
  readonly infinity: number;
  readonly nan: number;
}

const FP16: MiniFloat = { mantissaBits: 10, bias: 15, maxExponent: 31, infinity: 0x7c00, nan: 0x7e00 };
const BF16: MiniFloat = { mantissaBits: 7, bias: 127, maxExponent: 255, infinity: 0x7f80, nan: 0x7fc0 };

const SIGN = 0x8000;

/** Rounds a non-negative number to an integer, ties to even. */
function roundHalfEven(v: number): number {
  const r = Math.floor(v);
  const d = v - r;
  return d > 0.5 || (d === 0.5 && r % 2 === 1) ? r + 1 : r;
}

/** Rounds a double straight to the format (no detour through float32, which would round twice). */
function toBits(x: number, f: MiniFloat): number {
  if (Number.isNaN(x)) return f.nan;
  const sign = x < 0 || Object.is(x, -0) ? SIGN : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | f.infinity;
  const minNormalExp = 1 - f.bias;
  const implicit = 2 ** f.mantissaBits;
  if (a < 2 ** minNormalExp) {
    // subnormal: count units of the smallest subnormal; a carry into 2^mantissaBits is exactly the smallest normal
    return sign | roundHalfEven(a * 2 ** (f.mantissaBits - minNormalExp));
  }
  let e = Math.floor(Math.log2(a));
  // Math.log2 may land one off next to a power of two
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven(a * 2 ** (f.mantissaBits - e));
  if (m === 2 * implicit) {
    m = implicit;
    e++;
  }
  const biased = e + f.bias;
  if (biased >= f.maxExponent) return sign | f.infinity;
  return sign | (biased << f.mantissaBits) | (m - implicit);
}

/** Number → FP16 bit pattern, round-to-nearest-even; overflow gives ±Infinity, NaN gives 0x7e00. */
export function numberToFp16(x: number): number {
  return toBits(x, FP16);
}

/** Number → BF16 bit pattern, round-to-nearest-even; overflow gives ±Infinity, NaN gives 0x7fc0. */
export function numberToBf16(x: number): number {
  return toBits(x, BF16);
}

/** FP16 bit pattern → number (exact). */
export function fp16ToNumber(bits: number): number {
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const sign = bits & SIGN ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

const scratchU32 = new Uint32Array(1);
const scratchF32 = new Float32Array(scratchU32.buffer);

/** BF16 bit pattern → number (exact: BF16 is the top half of a float32). */
export function bf16ToNumber(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0] as number;
}

let fp16Table: Float32Array | undefined;

/** All 65536 FP16 values as float32 (256 KiB), built on first use: array decoding becomes one lookup per element. */
function fp16Lookup(): Float32Array {
  if (fp16Table === undefined) {
    fp16Table = new Float32Array(0x10000);
    for (let bits = 0; bits < 0x10000; bits++) fp16Table[bits] = fp16ToNumber(bits);
  }
  return fp16Table;
}

function outputFor<A extends Uint16Array | Float32Array>(
  out: A | undefined,
  make: (n: number) => A,
  length: number,
): A {
  if (out === undefined) return make(length);
  if (out.length !== length) throw new RangeError(`output has ${out.length} elements, input has ${length}`);
  return out;
}

/** FP16 bit patterns → Float32Array (every FP16 value is exact in float32). */
export function fp16ArrayToFloat32(bits: Uint16Array, out?: Float32Array): Float32Array {
  const result = outputFor(out, (n) => new Float32Array(n), bits.length);
  const table = fp16Lookup();
  for (let i = 0; i < bits.length; i++) result[i] = table[bits[i] as number] as number;
  return result;
}

/** BF16 bit patterns → Float32Array (exact). */
export function bf16ArrayToFloat32(bits: Uint16Array, out?: Float32Array): Float32Array {
  const result = outputFor(out, (n) => new Float32Array(n), bits.length);
  const words = new Uint32Array(result.buffer, result.byteOffset, result.length);
  for (let i = 0; i < bits.length; i++) words[i] = (bits[i] as number) << 16;
  return result;
}

/** float32 bit pattern → FP16 bit pattern, round-to-nearest-even (float32 input is exact, so one rounding). */
function float32BitsToFp16(f: number): number {
  const sign = (f >>> 16) & SIGN;
  const exponent = (f >>> 23) & 0xff;
  const mantissa = f & 0x7fffff;
  if (exponent === 0xff) return sign | (mantissa === 0 ? 0x7c00 : 0x7e00 | (mantissa >>> 13));
  if (exponent >= 143) return sign | 0x7c00;
  if (exponent >= 113) {
    const kept = mantissa >>> 13;
    const rest = mantissa & 0x1fff;
    let h = ((exponent - 112) << 10) | kept;
    // a carry out of the mantissa bumps the exponent, up to Infinity, as it should
    if (rest > 0x1000 || (rest === 0x1000 && (kept & 1) === 1)) h++;
    return sign | h;
  }
  // below 2^-25 everything rounds to zero (2^-25 itself ties to the even 0)
  if (exponent < 102) return sign;
  const full = mantissa | 0x800000;
  const shift = 126 - exponent;
  let q = full >>> shift;
  const rest = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rest > half || (rest === half && (q & 1) === 1)) q++;
  return sign | q;
}

/** float32 bit pattern → BF16 bit pattern, round-to-nearest-even; NaN stays NaN (quiet bit set). */
function float32BitsToBf16(f: number): number {
  if ((f & 0x7fffffff) > 0x7f800000) return (f >>> 16) | 0x0040;
  return ((f + 0x7fff + ((f >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Numbers → FP16 bit patterns. A Float32Array takes an integer fast path; other inputs round from double. */
export function toFp16Array(values: ArrayLike<number>, out?: Uint16Array): Uint16Array {
  const result = outputFor(out, (n) => new Uint16Array(n), values.length);
  if (values instanceof Float32Array) {
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < words.length; i++) result[i] = float32BitsToFp16(words[i] as number);
  } else {
    for (let i = 0; i < values.length; i++) result[i] = toBits(values[i] as number, FP16);
  }
  return result;
}

/** Numbers → BF16 bit patterns. A Float32Array takes an integer fast path; other inputs round from double. */
export function toBf16Array(values: ArrayLike<number>, out?: Uint16Array): Uint16Array {
  const result = outputFor(out, (n) => new Uint16Array(n), values.length);
  if (values instanceof Float32Array) {
    const words = new Uint32Array(values.buffer, values.byteOffset, values.length);
    for (let i = 0; i < words.length; i++) result[i] = float32BitsToBf16(words[i] as number);
  } else {
    for (let i = 0; i < values.length; i++) result[i] = toBits(values[i] as number, BF16);
  }
  return result;
}
