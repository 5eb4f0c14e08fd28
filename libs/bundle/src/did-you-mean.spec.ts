import { closestMatch, editDistance } from './did-you-mean';

describe('closestMatch', () => {
  it('suggests the field a typo was meant to be', () => {
    expect(closestMatch('imageInputKy', ['imageInputKey', 'decodeJpeg', 'dtype'])).toBe('imageInputKey');
    expect(closestMatch('tfserving', ['triton', 'tfServing'])).toBe('tfServing');
    expect(closestMatch('replica', ['replicas', 'image'])).toBe('replicas');
  });

  it('stays quiet when nothing is close', () => {
    expect(closestMatch('Text', ['Image', 'Quad', 'Scalar', 'Tensor'])).toBeUndefined();
    expect(closestMatch('maxBatch', ['id', 'engine'])).toBeUndefined();
  });

  it('counts edits', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});
