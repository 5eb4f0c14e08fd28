import { HpackDecoder, HpackEncoder, HpackError } from './hpack';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('RFC 7541 C.3: three requests without Huffman share the dynamic table', () => {
  const d = new HpackDecoder();
  expect(d.decode(hex('828684410f7777772e6578616d706c652e636f6d')).fields).toEqual([':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com']);
  expect(d.decode(hex('828684be58086e6f2d6361636865')).fields).toEqual([':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache']);
  expect(d.decode(hex('828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565')).fields).toEqual([
    ':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value',
  ]);
});

test('RFC 7541 C.4.1: Huffman-coded literal', () => {
  expect(new HpackDecoder().decode(hex('828684418cf1e3c2e5f23a6ba0ab90f4ff')).fields).toEqual([':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com']);
});

test('RFC 7541 C.2.3: never-indexed fields are reported so they are re-encoded the same way', () => {
  const list = new HpackDecoder().decode(hex('100870617373776f726406736563726574'));
  expect(list.fields).toEqual(['password', 'secret']);
  expect(list.neverIndexed).toEqual(['password']);
  const again = new HpackEncoder().encode(list.fields, list.neverIndexed);
  expect(again.toString('hex')).toBe('100870617373776f726406736563726574');
});

test('encoder and decoder stay in step across many blocks, evictions and a smaller peer table', () => {
  const enc = new HpackEncoder();
  const dec = new HpackDecoder();
  for (let i = 0; i < 300; i++) {
    if (i === 150) enc.setMaxTableSize(256);
    const fields = [
      ':method', 'POST', ':scheme', 'http', ':path', `/svc.M/Call${i % 7}`, ':authority', 'gateway:8080',
      'content-type', 'application/grpc', 'te', 'trailers', 'model-id', `model-${i % 13}`, 'x-request-id', `req-${i}`,
      'x-bin', String.fromCharCode(0, 255, i % 256), 'authorization', `Bearer ${i}`,
    ];
    const block = Buffer.from(enc.encode(fields));
    expect(dec.decode(block).fields).toEqual(fields);
  }
  // repeated fields cost one byte each once indexed
  const fresh = new HpackEncoder();
  const fields = [':method', 'POST', 'content-type', 'application/grpc', 'model-id', 'model-1'];
  expect(fresh.encode(fields).length).toBeGreaterThan(20);
  expect([...fresh.encode(fields)]).toEqual([0x83, 0xbf, 0xbe]);
});

test('bad input is an HpackError, oversized lists are flagged', () => {
  expect(() => new HpackDecoder().decode(hex('ff00'))).toThrow(HpackError);
  expect(() => new HpackDecoder().decode(hex('40'))).toThrow(HpackError);
  const d = new HpackDecoder(4096, 100);
  d.decode(new HpackEncoder().encode(['x-big', 'v'.repeat(200)]));
  expect(d.oversized).toBe(true);
});
