import { createPrng } from './prng';

describe('createPrng', () => {
  it('repeats the same sequence for the same seed and a different one for another seed', () => {
    const a = createPrng(42).fillUniform(64, 0, 1);
    const b = createPrng(42).fillUniform(64, 0, 1);
    const c = createPrng(43).fillUniform(64, 0, 1);
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('keeps values in [low, high) and spreads them over the range', () => {
    const values = createPrng(7).fillUniform(10_000, -2, 3);
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    for (const v of values) {
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
    }
    expect(min).toBeGreaterThanOrEqual(-2);
    expect(max).toBeLessThan(3);
    expect(max - min).toBeGreaterThan(4.9);
    expect(sum / values.length).toBeCloseTo(0.5, 1);
  });

  it('returns float32-exact numbers from next()', () => {
    const prng = createPrng(1);
    for (let i = 0; i < 100; i++) {
      const v = prng.next();
      expect(Math.fround(v)).toBe(v);
    }
  });

  it('rejects a seed that is not a safe integer', () => {
    expect(() => createPrng(0.5)).toThrow(RangeError);
  });
});
