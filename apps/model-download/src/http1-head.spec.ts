import fc from 'fast-check';
import { bodyFraming, ChunkedDecoder, closesConnection, Http1ProtocolError, parseResponseHead } from './http1-head';

const head = (text: string) => Buffer.from(text, 'latin1');

describe('parseResponseHead', () => {
  it('parses the status and the fields, lower-cased, repeated ones joined', () => {
    const buf = head('HTTP/1.1 206 Partial Content\r\nContent-Length: 10\r\nX-Amz-Meta: a\r\nx-amz-meta:b  \r\n\r\nBODY');
    expect(parseResponseHead(buf, buf.length)).toEqual({ status: 206, headers: { 'content-length': '10', 'x-amz-meta': 'a, b' }, length: buf.length - 4 });
  });

  it('waits for the blank line, and looks only below `end`', () => {
    const buf = head('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    expect(parseResponseHead(buf, buf.length - 1)).toBeUndefined();
    expect(parseResponseHead(buf, buf.length)?.status).toBe(200);
  });

  it('marks HTTP/1.0 answers without keep-alive as closing the connection', () => {
    const h = parseResponseHead(head('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n'), 200)!;
    expect(closesConnection(h, bodyFraming(h))).toBe(true);
    const k = parseResponseHead(head('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\n'), 200)!;
    expect(closesConnection(k, bodyFraming(k))).toBe(false);
  });

  it.each([
    ['a status line of another protocol', 'HTTP/2 200\r\n\r\n'],
    ['a three-digit status missing', 'HTTP/1.1 OK\r\n\r\n'],
    ['a field without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\n\r\n'],
    ['a field name with a space', 'HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n'],
    ['a folded line', 'HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n'],
    ['a bare LF inside a value', 'HTTP/1.1 200 OK\r\nA: b\nc\r\n\r\n'],
  ])('rejects %s', (_what, text) => {
    const buf = head(text);
    expect(() => parseResponseHead(buf, buf.length)).toThrow(Http1ProtocolError);
  });

  it('reads back any head it is given, whatever it is split at (property)', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
    const value = fc.stringMatching(/^[!-~]([ -~]{0,30}[!-~])?$/);
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 599 }), fc.uniqueArray(fc.tuple(name, value), { selector: ([n]) => n.toLowerCase(), maxLength: 12 }), fc.nat(), (status, fields, cut) => {
        const text = `HTTP/1.1 ${status} Reason\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
        const buf = head(`${text}trailing body bytes`);
        const parsed = parseResponseHead(buf, buf.length)!;
        expect(parsed.status).toBe(status);
        expect(parsed.length).toBe(text.length);
        expect(parsed.headers).toEqual(Object.fromEntries(fields.map(([n, v]) => [n.toLowerCase(), v])));
        expect(parseResponseHead(buf, cut % text.length)).toBeUndefined();
      }),
    );
  });

  it('fails on arbitrary bytes only with Http1ProtocolError (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withEnd) => {
        const buf = Buffer.concat([Buffer.from(bytes), withEnd ? head('\r\n\r\n') : Buffer.alloc(0)]);
        try {
          parseResponseHead(buf, buf.length);
        } catch (err) {
          expect(err).toBeInstanceOf(Http1ProtocolError);
        }
      }),
    );
  });
});

describe('bodyFraming', () => {
  const framing = (text: string) => bodyFraming(parseResponseHead(head(text), text.length)!);

  it('follows RFC 9112 §6.3', () => {
    expect(framing('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n')).toEqual({ kind: 'length', length: 0 });
    expect(framing('HTTP/1.1 304 Not Modified\r\n\r\n')).toEqual({ kind: 'length', length: 0 });
    expect(framing('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n\r\n')).toEqual({ kind: 'chunked' });
    expect(framing('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n')).toEqual({ kind: 'close' });
    expect(framing('HTTP/1.1 200 OK\r\nContent-Length: 42\r\n\r\n')).toEqual({ kind: 'length', length: 42 });
    expect(framing('HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n')).toEqual({ kind: 'length', length: 7 });
    expect(framing('HTTP/1.1 200 OK\r\n\r\n')).toEqual({ kind: 'close' });
  });

  it('rejects conflicting or malformed lengths', () => {
    expect(() => framing('HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 8\r\n\r\n')).toThrow(Http1ProtocolError);
    expect(() => framing('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n')).toThrow(Http1ProtocolError);
    expect(() => framing('HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n')).toThrow(Http1ProtocolError);
  });
});

describe('ChunkedDecoder', () => {
  /** Encodes `payload` in chunks of the given sizes, with an extension on some and a trailer section. */
  function encode(payload: Buffer, sizes: number[], trailers: string[]): Buffer {
    const parts: Buffer[] = [];
    let at = 0;
    for (const [i, size] of sizes.entries()) {
      if (at >= payload.length) break;
      const piece = payload.subarray(at, at + Math.max(1, size));
      at += piece.length;
      parts.push(head(`${piece.length.toString(16)}${i % 3 === 1 ? ';ext=1' : ''}\r\n`), piece, head('\r\n'));
    }
    if (at < payload.length) parts.push(head(`${(payload.length - at).toString(16).toUpperCase()}\r\n`), payload.subarray(at), head('\r\n'));
    parts.push(head(`0\r\n${trailers.map((t) => `${t}\r\n`).join('')}\r\n`));
    return Buffer.concat(parts);
  }

  it('decodes any chunking of any payload fed in any pieces, and leaves what follows (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { maxLength: 20 }),
        fc.array(fc.stringMatching(/^X-[a-z]{1,8}: [a-z0-9]{0,8}$/), { maxLength: 3 }),
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 30 }),
        (bytes, sizes, trailers, cuts) => {
          const payload = Buffer.from(bytes);
          const wire = Buffer.concat([encode(payload, sizes, trailers), head('NEXT')]);
          const decoder = new ChunkedDecoder();
          const out: Buffer[] = [];
          let at = 0;
          let unused = 0;
          for (let i = 0; at < wire.length; i++) {
            const piece = wire.subarray(at, at + (cuts[i % cuts.length] as number));
            at += piece.length;
            const used = decoder.feed(piece, (p) => out.push(Buffer.from(p)));
            if (decoder.done) {
              unused = piece.length - used + (wire.length - at);
              break;
            }
            expect(used).toBe(piece.length);
          }
          expect(decoder.done).toBe(true);
          expect(Buffer.concat(out).equals(payload)).toBe(true);
          expect(unused).toBe(4);
        },
      ),
    );
  });

  it.each([
    ['a size that is not hex', 'zz\r\nabc\r\n0\r\n\r\n'],
    ['data longer than its size', '2\r\nabc\r\n0\r\n\r\n'],
    ['a size line ended by a bare LF', '3\nabc\r\n0\r\n\r\n'],
  ])('rejects %s', (_what, text) => {
    expect(() => new ChunkedDecoder().feed(head(text), () => undefined)).toThrow(Http1ProtocolError);
  });
});
