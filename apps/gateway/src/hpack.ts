import { huffmanDecode } from './hpack-huffman';

// HPACK (RFC 7541) for the gateway's HTTP/2 connections. Header names and values are kept as latin1
// strings (one char per byte), so any byte sequence a peer sends is forwarded unchanged.

// prettier-ignore
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

// name → value → index: lookups without building a key string per field
const STATIC_EXACT = new Map<string, Map<string, number>>();
const STATIC_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  let values = STATIC_EXACT.get(name);
  if (values === undefined) STATIC_EXACT.set(name, (values = new Map()));
  if (!values.has(value)) values.set(value, i + 1);
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
});

/** Decoded header fields: names and values interleaved, plus the names a peer marked never-indexed. */
export interface HeaderList {
  readonly fields: string[];
  neverIndexed: string[] | undefined;
}

export class HpackError extends Error {
  override readonly name = 'HpackError';
}

const ENTRY_OVERHEAD = 32;


export class HpackDecoder {
  private entries: (readonly [string, string])[] = [];
  private size = 0;
  private maxSize: number;
  /** Set once a block exceeded maxHeaderListSize; the decoder stays in sync, the caller rejects the stream. */
  oversized = false;

  constructor(
    private readonly settingsMaxSize = 4096,
    private readonly maxHeaderListSize = 64 * 1024,
  ) {
    this.maxSize = settingsMaxSize;
  }

  private pos = 0;

  private integer(buf: Buffer, end: number, prefixBits: number): number {
    const mask = (1 << prefixBits) - 1;
    let value = (buf[this.pos++] as number) & mask;
    if (value < mask) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= end) throw new HpackError('truncated integer');
      const b = buf[this.pos++] as number;
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return value;
      if (shift > 28) throw new HpackError('integer too large');
    }
  }

  private string(buf: Buffer, end: number): string {
    if (this.pos >= end) throw new HpackError('truncated string');
    const huffman = ((buf[this.pos] as number) & 0x80) !== 0;
    const length = this.integer(buf, end, 7);
    const start = this.pos;
    if (start + length > end) throw new HpackError('truncated string');
    this.pos += length;
    return huffman ? huffmanDecode(buf, start, start + length) : buf.toString('latin1', start, start + length);
  }

  private field(index: number): readonly [string, string] {
    if (index >= 1 && index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1] as readonly [string, string];
    const e = this.entries[index - STATIC_TABLE.length - 1];
    if (index === 0 || e === undefined) throw new HpackError(`invalid table index ${index}`);
    return e;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.entries.unshift([name, value]);
    this.size += size;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize) {
      const e = this.entries.pop() as readonly [string, string];
      this.size -= e[0].length + e[1].length + ENTRY_OVERHEAD;
    }
  }

  /** Decodes one complete header block. Errors (HpackError) are connection errors: the table may be out of sync. */
  decode(buf: Buffer, start = 0, end = buf.length): HeaderList {
    const fields: string[] = [];
    let neverIndexed: string[] | undefined;
    let listSize = 0;
    this.pos = start;
    let first = true;
    while (this.pos < end) {
      const b = buf[this.pos] as number;
      let name: string;
      let value: string;
      if (b & 0x80) {
        [name, value] = this.field(this.integer(buf, end, 7));
      } else if (b & 0x40) {
        const index = this.integer(buf, end, 6);
        name = index === 0 ? this.string(buf, end) : (this.field(index)[0] as string);
        value = this.string(buf, end);
        this.add(name, value);
      } else if (b & 0x20) {
        if (!first) throw new HpackError('table size update after the first field');
        const size = this.integer(buf, end, 5);
        if (size > this.settingsMaxSize) throw new HpackError(`table size ${size} above the advertised ${this.settingsMaxSize}`);
        this.maxSize = size;
        this.evict();
        continue;
      } else {
        const never = (b & 0x10) !== 0;
        const index = this.integer(buf, end, 4);
        name = index === 0 ? this.string(buf, end) : (this.field(index)[0] as string);
        value = this.string(buf, end);
        if (never) (neverIndexed ??= []).push(name);
      }
      first = false;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      fields.push(name, value);
    }
    this.oversized = listSize > this.maxHeaderListSize;
    return { fields, neverIndexed };
  }
}

/** Names whose values are secrets: never indexed, so no other stream's header block reveals them. */
const NEVER_INDEX = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie']);
/** Values that change on every call: indexing them would only churn the table. */
const NO_INDEX = new Set(['x-request-id', 'grpc-timeout', 'date', 'content-length', 'grpc-message', 'grpc-status-details-bin', 'traceparent']);
const MAX_INDEXED_VALUE = 256;

export class HpackEncoder {
  /** name → value → insertion number of the newest entry with that field. */
  private readonly exact = new Map<string, Map<string, number>>();
  private readonly names = new Map<string, number>();
  /** Dynamic table entries, oldest first. */
  private readonly entries: { name: string; value: string; size: number; seq: number }[] = [];
  private inserted = 0;
  private size = 0;
  private maxSize = 4096;
  private pendingSizeUpdate: number | undefined;
  private out: Buffer = Buffer.allocUnsafe(4096);
  private pos = 0;

  /** The peer's SETTINGS_HEADER_TABLE_SIZE: the table shrinks (and says so) when it must. */
  setMaxTableSize(size: number): void {
    const target = Math.min(size, 4096);
    if (target === this.maxSize) return;
    this.maxSize = target;
    this.pendingSizeUpdate = Math.min(this.pendingSizeUpdate ?? target, target);
    this.evict();
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.out.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.pos + n));
    this.out.copy(bigger, 0, 0, this.pos);
    this.out = bigger;
  }

  private integer(value: number, prefixBits: number, flags: number): void {
    this.ensure(6);
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      this.out[this.pos++] = flags | value;
      return;
    }
    this.out[this.pos++] = flags | max;
    let rest = value - max;
    while (rest >= 128) {
      this.out[this.pos++] = (rest % 128) | 0x80;
      rest = Math.floor(rest / 128);
    }
    this.out[this.pos++] = rest;
  }

  private string(text: string): void {
    this.integer(text.length, 7, 0);
    this.ensure(text.length);
    this.pos += this.out.write(text, this.pos, 'latin1');
  }

  private evict(): void {
    while (this.size > this.maxSize) {
      const e = this.entries.shift() as { name: string; value: string; size: number; seq: number };
      this.size -= e.size;
      const values = this.exact.get(e.name);
      if (values !== undefined && values.get(e.value) === e.seq) {
        values.delete(e.value);
        if (values.size === 0) this.exact.delete(e.name);
      }
      if (this.names.get(e.name) === e.seq) this.names.delete(e.name);
    }
  }

  private indexOf(seq: number): number {
    return STATIC_TABLE.length + 1 + (this.inserted - seq);
  }

  /** Encodes name/value pairs (interleaved) into one header block; the returned view is valid until the next call. */
  encode(fields: readonly string[], neverIndexed?: readonly string[]): Buffer {
    this.pos = 0;
    if (this.pendingSizeUpdate !== undefined) {
      if (this.pendingSizeUpdate < this.maxSize) this.integer(this.pendingSizeUpdate, 5, 0x20);
      this.integer(this.maxSize, 5, 0x20);
      this.pendingSizeUpdate = undefined;
    }
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i] as string;
      const value = fields[i + 1] as string;
      if (NEVER_INDEX.has(name) || (neverIndexed !== undefined && neverIndexed.includes(name))) {
        const nameIndex = STATIC_NAME.get(name) ?? 0;
        this.integer(nameIndex, 4, 0x10);
        if (nameIndex === 0) this.string(name);
        this.string(value);
        continue;
      }
      const staticIndex = STATIC_EXACT.get(name)?.get(value);
      if (staticIndex !== undefined) {
        this.integer(staticIndex, 7, 0x80);
        continue;
      }
      const dynamicValues = this.exact.get(name);
      const seq = dynamicValues?.get(value);
      if (seq !== undefined) {
        this.integer(this.indexOf(seq), 7, 0x80);
        continue;
      }
      const nameSeq = this.names.get(name);
      const nameIndex = STATIC_NAME.get(name) ?? (nameSeq === undefined ? 0 : this.indexOf(nameSeq));
      const size = name.length + value.length + ENTRY_OVERHEAD;
      if (!NO_INDEX.has(name) && value.length <= MAX_INDEXED_VALUE && size <= this.maxSize) {
        this.integer(nameIndex, 6, 0x40);
        if (nameIndex === 0) this.string(name);
        this.string(value);
        const s = ++this.inserted;
        this.entries.push({ name, value, size, seq: s });
        if (dynamicValues !== undefined) dynamicValues.set(value, s);
        else this.exact.set(name, new Map([[value, s]]));
        this.names.set(name, s);
        this.size += size;
        this.evict();
      } else {
        this.integer(nameIndex, 4, 0);
        if (nameIndex === 0) this.string(name);
        this.string(value);
      }
    }
    return this.out.subarray(0, this.pos);
  }
}
