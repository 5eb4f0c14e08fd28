import { uniformFloat32 } from 'pure-rand/distribution/uniformFloat32';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

/** A seeded source of float32-exact uniform numbers: the same seed always yields the same sequence. */
export interface Prng {
  /** Uniform in [0, 1), a multiple of 2^-24 (so exactly representable as float32). */
  next(): number;
  /** Uniform in [low, high). */
  uniform(low: number, high: number): number;
  /** `length` values uniform in [low, high), rounded to float32. */
  fillUniform(length: number, low: number, high: number): Float32Array;
}

export function createPrng(seed: number): Prng {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`PRNG seed must be a safe integer, got ${seed}`);
  }
  const rng = xoroshiro128plus(seed);
  const next = (): number => uniformFloat32(rng);
  const uniform = (low: number, high: number): number => low + (high - low) * next();
  return {
    next,
    uniform,
    fillUniform(length, low, high) {
      const out = new Float32Array(length);
      for (let i = 0; i < length; i++) out[i] = uniform(low, high);
      return out;
    },
  };
}
