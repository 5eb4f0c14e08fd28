// HTTP/1.1 response framing for the download client: the response head and chunked bodies
// (RFC 9112 §4–§7). Only what a GET client needs; anything malformed is an Http1ProtocolError.

export class Http1ProtocolError extends Error {
  override readonly name = 'Http1ProtocolError';
}

export interface ResponseHead {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes of the head, final CRLF CRLF included. */
  readonly length: number;
}

/** How the body after a head is delimited (RFC 9112 §6.3). */
export type BodyFraming = { readonly kind: 'length'; readonly length: number } | { readonly kind: 'chunked' } | { readonly kind: 'close' };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A field name as RFC 9110 §5.1 allows it (a token). */
export function isToken(name: string): boolean {
  return TOKEN.test(name);
}
const STATUS_LINE = /^HTTP\/1\.([01]) ([0-9]{3})(?: [^\r\n]*)?$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Parses the head at the start of `buf[0, end)`. Undefined while the head is incomplete.
 * Field values are kept as Latin-1 text with surrounding whitespace removed.
 */
export function parseResponseHead(buf: Buffer, end: number): ResponseHead | undefined {
  const at = buf.subarray(0, end).indexOf(CRLFCRLF);
  if (at === -1) return undefined;
  const lines = buf.toString('latin1', 0, at).split('\r\n');
  const statusLine = STATUS_LINE.exec(lines[0] ?? '');
  if (statusLine === null) throw new Http1ProtocolError(`not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!isToken(name)) throw new Http1ProtocolError(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (/[\0\n\r]/.test(value)) throw new Http1ProtocolError(`control character in header ${name}`);
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  if (statusLine[1] === '0' && !/\bkeep-alive\b/i.test(headers['connection'] ?? '')) {
    headers['connection'] = 'close';
  }
  return { status: Number(statusLine[2]), headers, length: at + 4 };
}

/** The body framing of a response to a GET (RFC 9112 §6.3). */
export function bodyFraming(head: ResponseHead): BodyFraming {
  if ((head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) return { kind: 'length', length: 0 };
  const te = head.headers['transfer-encoding'];
  if (te !== undefined) {
    const codings = te.split(',').map((c) => c.trim().toLowerCase());
    return codings[codings.length - 1] === 'chunked' ? { kind: 'chunked' } : { kind: 'close' };
  }
  const cl = head.headers['content-length'];
  if (cl === undefined) return { kind: 'close' };
  const values = new Set(cl.split(',').map((v) => v.trim()));
  const [value] = values;
  if (values.size !== 1 || value === undefined || !/^[0-9]{1,15}$/.test(value)) throw new Http1ProtocolError(`bad content-length: ${JSON.stringify(cl.slice(0, 80))}`);
  return { kind: 'length', length: Number(value) };
}

/** The connection cannot carry another request after this response. */
export function closesConnection(head: ResponseHead, framing: BodyFraming): boolean {
  return framing.kind === 'close' || /\bclose\b/i.test(head.headers['connection'] ?? '');
}

const MAX_CHUNK_LINE = 4096;

/**
 * Decodes a chunked body fed in arbitrary pieces: `feed` passes each piece of payload to `out` (as a
 * view of the input) and returns how many input bytes it used; after the last chunk and the trailer
 * section, `done` is set and the rest of the input is left unused.
 */
export class ChunkedDecoder {
  private state: 'size' | 'data' | 'data-crlf' | 'trailer' = 'size';
  private line = '';
  private remaining = 0;
  done = false;

  feed(buf: Buffer, out: (payload: Buffer) => void): number {
    let i = 0;
    while (i < buf.length && !this.done) {
      if (this.state === 'data') {
        const n = Math.min(this.remaining, buf.length - i);
        out(buf.subarray(i, i + n));
        i += n;
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data-crlf';
        continue;
      }
      const nl = buf.indexOf(0x0a, i);
      const stop = nl === -1 ? buf.length : nl;
      this.line += buf.toString('latin1', i, stop);
      i = stop;
      if (this.line.length > MAX_CHUNK_LINE) throw new Http1ProtocolError('chunk line too long');
      if (nl === -1) break;
      i = nl + 1;
      if (!this.line.endsWith('\r')) throw new Http1ProtocolError('chunk line not ended by CRLF');
      const line = this.line.slice(0, -1);
      this.line = '';
      if (this.state === 'data-crlf') {
        if (line !== '') throw new Http1ProtocolError('chunk data longer than its size');
        this.state = 'size';
      } else if (this.state === 'size') {
        const size = /^([0-9A-Fa-f]{1,12})[ \t]*(?:;.*)?$/.exec(line);
        if (size === null) throw new Http1ProtocolError(`bad chunk size line: ${JSON.stringify(line.slice(0, 40))}`);
        this.remaining = parseInt(size[1] as string, 16);
        this.state = this.remaining === 0 ? 'trailer' : 'data';
      } else if (line === '') {
        this.done = true;
      }
    }
    return i;
  }
}
