import { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode, huffmanEncode, huffmanLength } from './hpack-huffman';

test('the code lengths make a complete prefix code (Kraft sum exactly 1)', () => {
  const sum = HUFFMAN_LENGTHS.reduce((s, len) => s + 2 ** (30 - len), 0);
  expect(sum).toBe(2 ** 30);
  expect(HUFFMAN_LENGTHS).toHaveLength(257);
});

test('canonical codes match RFC 7541 Appendix B across the table', () => {
  const expected: Record<number, number> = {
    0: 0x1ff8, 1: 0x7fffd8, 9: 0xffffea, 10: 0x3ffffffc, 22: 0x3ffffffe, 32: 0x14, 47: 0x18, 48: 0x0, 58: 0x5c,
    92: 0x7fff0, 97: 0x3, 122: 0x7b, 126: 0x1ffd, 127: 0xffffffc, 128: 0xfffe6, 153: 0x1fffdc, 192: 0x3ffffe0,
    199: 0x1ffffec, 203: 0x7ffffde, 220: 0xffffffd, 239: 0x7ffff4, 242: 0x3ffffec, 249: 0xffffffe, 254: 0x7fffff0,
    255: 0x3ffffee, [EOS]: 0x3fffffff,
  };
  for (const [sym, code] of Object.entries(expected)) expect([Number(sym), HUFFMAN_CODES[Number(sym)]]).toEqual([Number(sym), code]);
});

// RFC 7541 C.4 and C.6 (request and response examples with Huffman coding)
const VECTORS: [string, string][] = [
  ['www.example.com', 'f1e3c2e5f23a6ba0ab90f4ff'],
  ['no-cache', 'a8eb10649cbf'],
  ['custom-key', '25a849e95ba97d7f'],
  ['custom-value', '25a849e95bb8e8b4bf'],
  ['302', '6402'],
  ['private', 'aec3771a4b'],
  ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07abe941054d444a8200595040b8166e082a62d1bff'],
  ['https://www.example.com', '9d29ad171863c78f0b97c8e9ae82ae43d3'],
  ['gzip', '9bd9ab'],
  ['foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1', '94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007'],
];

test.each(VECTORS)('%s ⇄ RFC bytes', (text, hex) => {
  const bytes = Buffer.from(hex, 'hex');
  expect(huffmanDecode(bytes, 0, bytes.length)).toBe(text);
  const out = Buffer.alloc(huffmanLength(text));
  expect(huffmanEncode(text, out, 0)).toBe(out.length);
  expect(out.toString('hex')).toBe(hex);
});

test('every byte value round-trips', () => {
  const all = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
  const out = Buffer.alloc(huffmanLength(all));
  huffmanEncode(all, out, 0);
  expect(huffmanDecode(out, 0, out.length)).toBe(all);
});

test('bad padding and EOS are errors', () => {
  expect(() => huffmanDecode(Buffer.from([0x00]), 0, 1)).toThrow('padding');
  expect(() => huffmanDecode(Buffer.from([0xff, 0xff, 0xff, 0xff]), 0, 4)).toThrow();
});
