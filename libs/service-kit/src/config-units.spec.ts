import fc from 'fast-check';
import { formatByteSize, formatDuration, parseByteSize, parseDuration } from './config-units';

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['1m30s', 90_000],
    ['1.5h', 5_400_000],
    ['2d', 172_800_000],
    ['0', 0],
    [' 10s ', 10_000],
  ])('parses %j as %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '30', '10 s', 's', '1x', '-5s', '1m 30s', '5sec'])('rejects %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('formats exactly what it parses', () => {
    expect(formatDuration(90_500)).toBe('1m30s500ms');
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), (ms) => parseDuration(formatDuration(ms)) === ms));
  });
});

describe('byte sizes', () => {
  it.each([
    ['100MiB', 100 * 1024 ** 2],
    ['1.5GB', 1.5e9],
    ['64k', 65_536],
    ['4096', 4096],
    ['2Gi', 2 * 1024 ** 3],
    ['10 MB', 10_000_000],
    ['1tib', 1024 ** 4],
  ])('parses %j as %d bytes', (text, n) => expect(parseByteSize(text)).toBe(n));

  it.each(['', 'MiB', '1.5.5MB', '10 parsecs', '-1MB', '1e3'])('rejects %j', (text) => expect(parseByteSize(text)).toBeUndefined());

  it('formats in the largest exact binary unit', () => {
    expect(formatByteSize(100 * 1024 ** 2)).toBe('100MiB');
    expect(formatByteSize(1_000_000)).toBe('1000000');
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 45 }), (n) => parseByteSize(formatByteSize(n)) === n));
  });
});
