import fc from 'fast-check';
import { decodeBase64 } from './base64';

describe('decodeBase64', () => {
  it('round-trips any bytes in standard and URL-safe form, padded or not, and as a data: URL', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        const b = Buffer.from(bytes);
        const standard = b.toString('base64');
        for (const text of [standard, standard.replace(/=+$/, ''), b.toString('base64url'), `data:image/png;base64,${standard}`, standard.replace(/(.{8})/g, '$1\n')]) {
          expect(decodeBase64(text)?.equals(b)).toBe(true);
        }
      }),
    );
  });

  it.each([
    ['a character outside both alphabets', 'abc*'],
    ['both alphabets mixed', 'ab+_'],
    ['an impossible length', 'abcde'],
    ['padding in the middle', 'ab=c'],
    ['nothing', ''],
    ['an empty data: URL', 'data:image/png;base64,'],
  ])('refuses %s', (_name, text) => {
    expect(decodeBase64(text)).toBeUndefined();
  });
});
