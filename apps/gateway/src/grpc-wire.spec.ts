import { decodeGrpcMessage, encodeGrpcMessage, formatGrpcTimeout, MessageSizeGuard, parseGrpcTimeout } from './grpc-wire';

describe('grpc-timeout', () => {
  test.each([
    ['100m', 100],
    ['5S', 5000],
    ['2M', 120_000],
    ['1H', 3_600_000],
    ['2500u', 2.5],
    ['99999999n', 99.999999],
  ])('%s → %d ms', (text, ms) => expect(parseGrpcTimeout(text)).toBeCloseTo(ms, 9));

  test.each(['', '5', 'S', '123456789m', '1.5S', '10x', '-1S'])('rejects %j', (text) => expect(parseGrpcTimeout(text)).toBeUndefined());

  test('formatting rounds up and stays within 8 digits', () => {
    expect(formatGrpcTimeout(1234.2)).toBe('1235m');
    expect(formatGrpcTimeout(0)).toBe('0m');
    expect(formatGrpcTimeout(200_000_000)).toBe('200000S');
    for (const ms of [1, 999, 86_400_000, 5e9]) expect(parseGrpcTimeout(formatGrpcTimeout(ms))).toBeGreaterThanOrEqual(ms);
  });
});

test('grpc-message percent-encoding round-trips non-ASCII and %', () => {
  const text = 'model ünloaded: 100% sure\n';
  const encoded = encodeGrpcMessage(text);
  expect(encoded).toBe('model %C3%BCnloaded: 100%25 sure%0A');
  expect(decodeGrpcMessage(encoded)).toBe(text);
});

describe('MessageSizeGuard', () => {
  const frame = (n: number): Buffer => {
    const b = Buffer.alloc(5 + n, 1);
    b[0] = 0;
    b.writeUInt32BE(n, 1);
    return b;
  };

  test('follows message boundaries split anywhere across chunks', () => {
    const body = Buffer.concat([frame(10), frame(100), frame(30)]);
    for (let cut = 1; cut < body.length; cut++) {
      const g = new MessageSizeGuard(100);
      expect([g.feed(body.subarray(0, cut)), g.feed(body.subarray(cut))]).toEqual([-1, -1]);
      const strict = new MessageSizeGuard(99);
      const results = [strict.feed(body.subarray(0, cut)), strict.feed(body.subarray(cut))];
      expect(results.filter((r) => r === 100)).toHaveLength(1);
    }
  });
});
