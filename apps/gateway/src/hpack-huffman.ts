// HPACK's Huffman code (RFC 7541 Appendix B). The code is canonical, so the bit length of each
// symbol's code (0..255 and EOS = 256) determines every code; the table below lists those lengths.

// prettier-ignore
const CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0..15
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16..31
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // ' '..'/'
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // '0'..'?'
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // '@'..'O'
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 'P'..'_'
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // '`'..'o'
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 'p'..127
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..143
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..159
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..175
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..191
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..207
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..223
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..239
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..255
  30, // EOS
];

export const EOS = 256;
const MAX_LENGTH = 30;

/** Canonical codes: `codes[sym]` is the code of `sym` in its low `CODE_LENGTHS[sym]` bits. */
export const HUFFMAN_CODES: readonly number[] = (() => {
  const order = CODE_LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  const codes = new Array<number>(CODE_LENGTHS.length).fill(0);
  let code = 0;
  let prevLen = order[0]?.len ?? 0;
  for (const { len, sym } of order) {
    code *= 2 ** (len - prevLen);
    prevLen = len;
    codes[sym] = code;
    code++;
  }
  return codes;
})();

export const HUFFMAN_LENGTHS = CODE_LENGTHS;

// decoding tables: for each length, the first code, how many codes, and where their symbols start
const FIRST = new Int32Array(MAX_LENGTH + 1).fill(-1);
const COUNT = new Int32Array(MAX_LENGTH + 1);
const START = new Int32Array(MAX_LENGTH + 1);
const SYMBOLS = new Uint16Array(CODE_LENGTHS.length);
{
  const order = CODE_LENGTHS.map((len, sym) => ({ len, sym })).sort((a, b) => a.len - b.len || a.sym - b.sym);
  order.forEach(({ len, sym }, i) => {
    SYMBOLS[i] = sym;
    if (COUNT[len] === 0) {
      FIRST[len] = HUFFMAN_CODES[sym] as number;
      START[len] = i;
    }
    COUNT[len] = (COUNT[len] as number) + 1;
  });
}

export class HuffmanError extends Error {
  override readonly name = 'HuffmanError';
}

/** Decodes a Huffman-coded string literal into latin1 (one char per byte). */
export function huffmanDecode(buf: Uint8Array, start: number, end: number): string {
  let out = '';
  let code = 0;
  let len = 0;
  for (let i = start; i < end; i++) {
    const byte = buf[i] as number;
    for (let bit = 7; bit >= 0; bit--) {
      code = code * 2 + ((byte >> bit) & 1);
      len++;
      const first = FIRST[len] as number;
      if (first !== -1) {
        const offset = code - first;
        if (offset >= 0 && offset < (COUNT[len] as number)) {
          const sym = SYMBOLS[(START[len] as number) + offset] as number;
          if (sym === EOS) throw new HuffmanError('EOS symbol inside a Huffman-coded string');
          out += String.fromCharCode(sym);
          code = 0;
          len = 0;
          continue;
        }
      }
      if (len >= MAX_LENGTH) throw new HuffmanError('invalid Huffman code');
    }
  }
  // what is left must be padding: fewer than 8 bits, all ones (a prefix of EOS)
  if (len > 7 || code !== 2 ** len - 1) throw new HuffmanError('invalid Huffman padding');
  return out;
}

/** Encoded length in bytes of a latin1 string (to choose Huffman only when it is shorter). */
export function huffmanLength(text: string): number {
  let bits = 0;
  for (let i = 0; i < text.length; i++) bits += CODE_LENGTHS[text.charCodeAt(i) & 0xff] as number;
  return Math.ceil(bits / 8);
}

/** Writes the Huffman code of a latin1 string at `out[at]`; returns the end offset. */
export function huffmanEncode(text: string, out: Uint8Array, at: number): number {
  let acc = 0;
  let bits = 0;
  let pos = at;
  for (let i = 0; i < text.length; i++) {
    const sym = text.charCodeAt(i) & 0xff;
    const len = CODE_LENGTHS[sym] as number;
    const code = HUFFMAN_CODES[sym] as number;
    // feed the code in pieces of at most 8 bits so `acc` never exceeds 15 bits
    let remaining = len;
    while (remaining > 0) {
      const take = Math.min(8, remaining);
      remaining -= take;
      acc = (acc << take) | (Math.floor(code / 2 ** remaining) & ((1 << take) - 1));
      bits += take;
      while (bits >= 8) {
        bits -= 8;
        out[pos++] = (acc >> bits) & 0xff;
      }
      acc &= (1 << bits) - 1;
    }
  }
  if (bits > 0) out[pos++] = ((acc << (8 - bits)) | ((1 << (8 - bits)) - 1)) & 0xff;
  return pos;
}
