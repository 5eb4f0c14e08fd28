import fc from 'fast-check';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHasher } from './checksum';
import { FileSink, receive, WRITE_BUFFER } from './file-sink';
import { Http1Agent, type Http1AgentOptions } from './http1-client';
import type { ReadTarget } from './storage';

// Real servers on 127.0.0.1 port 0: node's http and https servers, and raw TCP servers for the
// answers node's server would not give (broken framing, stale keep-alive sockets).

/** A target with a small buffer, so a body takes many reads and many buffer turns. */
function collector(size = 4096) {
  const buf = Buffer.alloc(size);
  const parts: Buffer[] = [];
  let used = 0;
  let direct = 0;
  let copied = 0;
  const target: ReadTarget = {
    space: () => buf.subarray(used),
    commit(view) {
      if (view.buffer !== buf.buffer || view.byteOffset !== buf.byteOffset + used) throw new Error('commit of bytes outside the last space');
      direct += view.length;
      used += view.length;
      if (used === buf.length) {
        parts.push(Buffer.from(buf));
        used = 0;
      }
    },
    push(chunk) {
      copied += chunk.length;
      for (let at = 0; at < chunk.length;) {
        const n = chunk.copy(buf, used, at);
        at += n;
        used += n;
        if (used === buf.length) {
          parts.push(Buffer.from(buf));
          used = 0;
        }
      }
    },
  };
  return {
    target,
    bytes: () => Buffer.concat([...parts, buf.subarray(0, used)]),
    stats: () => ({ direct, copied }),
  };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

const agents: Http1Agent[] = [];
const servers: net.Server[] = [];
function agent(port: number, extra: Partial<Http1AgentOptions> = {}): Http1Agent {
  const a = new Http1Agent({
    protocol: 'http:',
    hostname: '127.0.0.1',
    port,
    maxSockets: 4,
    ...extra,
  });
  agents.push(a);
  return a;
}
function track<S extends net.Server>(s: S): S {
  servers.push(s);
  return s;
}

afterEach(async () => {
  for (const a of agents.splice(0)) a.close();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          (s as http.Server).closeAllConnections?.();
          s.close(() => r());
        }),
    ),
  );
});

/** A raw server: `answer(socket, requestIndex)` on each request head received. */
async function rawServer(answer: (s: net.Socket, n: number, conn: number) => void): Promise<{ port: number; conns: () => number }> {
  let conns = 0;
  const server = track(
    net.createServer((s) => {
      const conn = ++conns;
      let n = 0;
      let pending = '';
      s.on('data', (d) => {
        pending += d.toString('latin1');
        while (pending.includes('\r\n\r\n')) {
          pending = pending.slice(pending.indexOf('\r\n\r\n') + 4);
          answer(s, n++, conn);
        }
      });
      s.on('error', () => undefined);
    }),
  );
  return { port: await listen(server), conns: () => conns };
}

describe('Http1Agent against node:http', () => {
  const blob = randomBytes(3 * 1024 * 1024 + 17);
  let connections = 0;
  let port = 0;

  beforeEach(async () => {
    connections = 0;
    const server = track(
      http.createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/blob') {
          const range = /bytes=(\d+)-(\d+)/.exec(req.headers.range ?? '');
          const body = range ? blob.subarray(Number(range[1]), Number(range[2]) + 1) : blob;
          res.writeHead(range ? 206 : 200, {
            'content-length': body.length,
            'x-request-header': String(req.headers['x-test'] ?? ''),
          });
          res.end(body);
        } else if (url.pathname === '/chunked') {
          // no length: node frames it chunked
          res.writeHead(403, { 'content-type': 'application/xml' });
          res.write('<Error><Code>AccessDenied</Code>');
          setTimeout(() => res.end('<Message>no</Message></Error>'), 10);
        } else if (url.pathname === '/empty') {
          res.writeHead(204);
          res.end();
        } else if (url.pathname === '/continue') {
          res.writeContinue();
          res.writeHead(200, { 'content-length': 2 });
          res.end('ok');
        } else if (url.pathname === '/big-head') {
          res.writeHead(200, {
            'content-length': 2,
            'x-big': 'v'.repeat(Number(url.searchParams.get('n'))),
          });
          res.end('ok');
        } else if (url.pathname === '/never') {
          // no answer
        } else {
          res.writeHead(404, { 'content-length': 0 });
          res.end();
        }
      }),
    );
    server.on('connection', () => connections++);
    port = await listen(server);
  });

  it('reads bodies straight into the target, on one kept-alive connection', async () => {
    const a = agent(port);
    for (const path of ['/blob', '/blob', '/blob']) {
      const res = await a.get(path, { 'x-test': 'yes' });
      expect(res.status).toBe(200);
      expect(res.headers['x-request-header']).toBe('yes');
      const c = collector();
      await expect(res.body.readInto(c.target)).resolves.toBe(blob.length);
      expect(c.bytes().equals(blob)).toBe(true);
      // all but what came in with the head was read by the kernel into the target's own buffer
      // (at most the head buffer's 16 KiB with the head, and a 16 KiB read before the reader came)
      expect(c.stats().direct).toBeGreaterThanOrEqual(blob.length - 32 * 1024);
    }
    expect(connections).toBe(1);
  });

  it('streams bodies as a Readable with backpressure, and ranges', async () => {
    const a = agent(port);
    const res = await a.get('/blob', { range: 'bytes=100-2000099' });
    expect(res.status).toBe(206);
    const got: Buffer[] = [];
    await pipeline(
      res.body,
      new Writable({
        highWaterMark: 1024,
        write(chunk: Buffer, _enc, cb) {
          got.push(chunk);
          setImmediate(cb);
        },
      }),
    );
    expect(Buffer.concat(got).equals(blob.subarray(100, 2000100))).toBe(true);
    // the connection went back to the agent: the next request reuses it
    await (await a.get('/empty', {})).body.text(10);
    expect(connections).toBe(1);
  });

  it('reads a chunked error body as text and into a target', async () => {
    const a = agent(port);
    const res = await a.get('/chunked', {});
    expect(res.status).toBe(403);
    expect(await res.body.text(1000)).toBe('<Error><Code>AccessDenied</Code><Message>no</Message></Error>');
    const again = await a.get('/chunked', {});
    const c = collector(7);
    await expect(again.body.readInto(c.target)).resolves.toBe(61);
    expect(c.bytes().toString()).toBe('<Error><Code>AccessDenied</Code><Message>no</Message></Error>');
    expect(connections).toBe(1);
  });

  it('handles empty bodies, interim 100 responses and heads larger than its first buffer', async () => {
    const a = agent(port);
    const empty = await a.get('/empty', {});
    expect(empty.status).toBe(204);
    await expect(empty.body.readInto(collector().target)).resolves.toBe(0);
    const cont = await a.get('/continue', {});
    expect([cont.status, await cont.body.text(10)]).toEqual([200, 'ok']);
    const big = await a.get('/big-head?n=40000', {});
    expect(big.headers['x-big']).toHaveLength(40000);
    expect(await big.body.text(10)).toBe('ok');
    await expect(a.get('/big-head?n=70000', {})).rejects.toThrow(/response head over 65536 bytes/);
    const after = await a.get('/blob', {});
    expect((await after.body.readInto(collector().target)) === blob.length).toBe(true);
  });

  it('queues requests beyond maxSockets and answers all of them', async () => {
    const a = agent(port, { maxSockets: 2 });
    const results = await Promise.all(
      Array.from({ length: 7 }, async (_, i) => {
        const res = await a.get('/blob', {
          range: `bytes=${i * 1000}-${i * 1000 + 99999}`,
        });
        const c = collector(65536);
        await res.body.readInto(c.target);
        return c.bytes().equals(blob.subarray(i * 1000, i * 1000 + 100000));
      }),
    );
    expect(results).toEqual(Array(7).fill(true));
    expect(connections).toBe(2);
  });

  it('closes the connection of a body dropped half-way, and carries on with a new one', async () => {
    const a = agent(port, { maxSockets: 1 });
    const res = await a.get('/blob', {});
    await new Promise<void>((resolve) => {
      res.body.once('data', () => {
        res.body.destroy();
        resolve();
      });
    });
    const next = await a.get('/blob', {});
    const c = collector();
    await next.body.readInto(c.target);
    expect(c.bytes().equals(blob)).toBe(true);
    expect(connections).toBe(2);
  });

  it('keeps a slow body that never stalls for the timeout', async () => {
    const { port: slow } = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n');
      let sent = 0;
      const tick = setInterval(() => {
        s.write('x');
        if (++sent === 20) clearInterval(tick);
      }, 40);
    });
    const res = await agent(slow, { timeoutMs: 300 }).get('/', {});
    const c = collector();
    // 800 ms in all, 40 ms between reads
    await expect(res.body.readInto(c.target)).resolves.toBe(20);
  });

  it('fails a request that gets no data within the timeout', async () => {
    const a = agent(port, { timeoutMs: 200 });
    await expect(a.get('/never', {})).rejects.toThrow('no data from 127.0.0.1 for 200 ms');
  });

  it('refuses header values that would split the request', async () => {
    await expect(agent(port).get('/blob', { 'x-test': 'a\r\nx-evil: 1' })).rejects.toThrow(TypeError);
    await expect(agent(port).get('/blob\r\nx', {})).rejects.toThrow(TypeError);
  });

  it('fails with the connect error when nothing listens', async () => {
    const closed = await listen(track(net.createServer()));
    servers.pop()?.close();
    await new Promise((r) => setTimeout(r, 50));
    await expect(agent(closed).get('/', {})).rejects.toThrow(/ECONNREFUSED/);
  });
});

describe('Http1Agent on one kept-alive connection (property)', () => {
  /** A response on the wire: head and body, framed by length or chunked. */
  function wire(body: Buffer, chunked: boolean, chunkSizes: number[]): Buffer {
    if (!chunked) return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
    const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')];
    let at = 0;
    for (let i = 0; at < body.length; i++) {
      const piece = body.subarray(at, at + (chunkSizes[i % chunkSizes.length] as number));
      at += piece.length;
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(parts);
  }

  it('reads any sequence of responses, sent in any pieces, into targets of any size or as streams', async () => {
    const response = fc.record({
      size: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 300_000 })),
      chunked: fc.boolean(),
      chunkSizes: fc.array(fc.integer({ min: 1, max: 70_000 }), { minLength: 1, maxLength: 4 }),
      // how the server writes the response: piece sizes, a pause between pieces or not
      pieces: fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 5 }),
      pause: fc.boolean(),
      // how the client reads it
      asStream: fc.boolean(),
      targetSize: fc.integer({ min: 1, max: 200_000 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(response, { minLength: 1, maxLength: 4 }), async (script) => {
        const bodies = script.map((r) => randomBytes(r.size));
        const { port, conns } = await rawServer((s, n) => {
          const r = script[n]!;
          const bytes = wire(bodies[n]!, r.chunked, r.chunkSizes);
          const sizes = r.pieces;
          let at = 0;
          let i = 0;
          const next = (): Buffer => {
            // with pauses, at most ~40 pieces: a 1 ms pause per byte would take minutes
            const size = sizes[i++ % sizes.length] as number;
            const piece = bytes.subarray(at, at + (r.pause ? Math.max(size, Math.ceil(bytes.length / 40)) : size));
            at += piece.length;
            return piece;
          };
          if (!r.pause) {
            while (at < bytes.length) s.write(next());
            return;
          }
          const step = (): void => {
            if (at >= bytes.length || s.destroyed) return;
            s.write(next());
            setTimeout(step, 1);
          };
          step();
        });
        const a = agent(port, { maxSockets: 1 });
        for (const [i, r] of script.entries()) {
          const res = await a.get(`/${i}`, {});
          let got: Buffer;
          if (r.asStream) {
            const parts: Buffer[] = [];
            for await (const chunk of res.body) parts.push(chunk as Buffer);
            got = Buffer.concat(parts);
          } else {
            const c = collector(r.targetSize);
            await expect(res.body.readInto(c.target)).resolves.toBe(r.size);
            got = c.bytes();
          }
          expect(got.equals(bodies[i]!)).toBe(true);
        }
        expect(conns()).toBe(1);
        a.close();
      }),
      { numRuns: 60, timeout: 10_000 },
    );
  }, 120_000);
});

describe('Http1Agent against servers that break the rules', () => {
  it('fails a body cut short, saying how much came', async () => {
    const { port } = await rawServer((s) => {
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      s.end(Buffer.alloc(500, 1));
    });
    const res = await agent(port).get('/', {});
    await expect(res.body.readInto(collector().target)).rejects.toThrow('the connection closed after 500 of 1000 bytes of the body');
  });

  it('fails a body longer than its Content-Length', async () => {
    const { port } = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcdefgh'));
    const res = await agent(port).get('/', {});
    await expect(res.body.readInto(collector().target)).rejects.toThrow(/more than the 4 bytes/);
  });

  it('reads a body delimited by the connection closing, head sent byte by byte', async () => {
    const { port } = await rawServer((s) => {
      const text = 'HTTP/1.0 200 OK\r\nServer: old\r\n\r\n';
      let i = 0;
      const step = () => {
        if (i < text.length) {
          s.write(text[i++] as string);
          setTimeout(step, 1);
        } else s.end('the whole body');
      };
      step();
    });
    const a = agent(port);
    const res = await a.get('/', {});
    expect(res.headers['server']).toBe('old');
    const c = collector(5);
    await expect(res.body.readInto(c.target)).resolves.toBe(14);
    expect(c.bytes().toString()).toBe('the whole body');
  });

  it('retries once on a fresh connection when a reused one was closed before answering', async () => {
    const { port, conns } = await rawServer((s, n) => {
      if (n === 0) s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      else s.destroy();
    });
    const a = agent(port);
    expect(await (await a.get('/', {})).body.text(10)).toBe('ok');
    // the second request on connection 1 is dropped unanswered; connection 2 answers it as its first
    expect(await (await a.get('/', {})).body.text(10)).toBe('ok');
    expect(conns()).toBe(2);
  });

  it('reads on after empty bodies whose heads came a byte at a time', async () => {
    const { port, conns } = await rawServer((s) => {
      for (const c of 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n') s.write(c);
    });
    const a = agent(port, { maxSockets: 1 });
    for (let i = 0; i < 3; i++) {
      const res = await a.get('/', {});
      await expect(res.body.readInto(collector(1).target)).resolves.toBe(0);
    }
    expect(conns()).toBe(1);
  });

  it('does not retry a fresh connection closed before answering', async () => {
    const { port, conns } = await rawServer((s) => s.destroy());
    await expect(agent(port).get('/', {})).rejects.toThrow(/closed the connection before answering|ECONNRESET/);
    expect(conns()).toBe(1);
  });

  it('rejects a malformed response head', async () => {
    const { port } = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n'));
    await expect(agent(port).get('/', {})).rejects.toThrow(/malformed header line/);
  });
});

describe('Http1Agent over TLS', () => {
  it('verifies the server against the given CA and reads straight into the target', async () => {
    const dir = join(__dirname, 'testing', 'tls');
    const blob = randomBytes(1024 * 1024);
    const server = track(
      https.createServer(
        {
          key: readFileSync(join(dir, 'server.key')),
          cert: readFileSync(join(dir, 'server.pem')),
        },
        (_req, res) => {
          res.writeHead(200, { 'content-length': blob.length });
          res.end(blob);
        },
      ),
    );
    const port = await listen(server);
    const trusted = agent(port, {
      protocol: 'https:',
      hostname: 'localhost',
      tls: { ca: readFileSync(join(dir, 'ca.pem')) },
    });
    const c = collector(100000);
    await (await trusted.get('/', {})).body.readInto(c.target);
    expect(c.bytes().equals(blob)).toBe(true);
    expect(c.stats().direct).toBeGreaterThan(blob.length / 2);
    await expect(agent(port, { protocol: 'https:', hostname: 'localhost' }).get('/', {})).rejects.toThrow(/certificate/);
  });
});

describe('receive() from an Http1Agent body into a FileSink', () => {
  let dir: string;
  let port: number;
  // larger than the staging buffer, and not a multiple of it
  const blob = randomBytes(WRITE_BUFFER * 2 + 12345);
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'http1-receive-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    port = await listen(
      track(
        http.createServer((_req, res) => {
          res.writeHead(200, { 'content-length': blob.length });
          res.end(blob);
        }),
      ),
    );
  });

  it('writes and hashes the body read straight into the staging buffer', async () => {
    const path = join(dir, 'whole.bin');
    const sink = await FileSink.open(path, 'w', 0);
    const hasher = createHasher({ algorithm: 'md5' });
    let counted = 0;
    const res = await agent(port).get('/', {});
    await expect(receive(res.body, sink, blob.length, hasher, (n) => (counted += n))).resolves.toBe(blob.length);
    expect(sink.finish().size).toBe(blob.length);
    expect(readFileSync(path).equals(blob)).toBe(true);
    expect(await hasher.digest()).toBe(createHash('md5').update(blob).digest('hex'));
    expect(counted).toBe(blob.length);
  });

  it('fails a body longer than the listing said', async () => {
    const sink = await FileSink.open(join(dir, 'short.bin'), 'w', 0);
    const res = await agent(port).get('/', {});
    await expect(receive(res.body, sink, 1000, undefined, () => undefined)).rejects.toThrow('got more than the expected 1000 bytes');
    sink.abort();
  });
});
