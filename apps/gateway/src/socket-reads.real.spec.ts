import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';
import { ARENA_SIZE, readIntoArenas } from './socket-reads';
import { TLS_DIR } from './test-backend';

function listen(server: Server): Promise<number> {
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok((server.address() as AddressInfo).port)));
}

/** Sends `payload` in the given write sizes, then ends the socket. */
async function send(socket: Socket, payload: Buffer, sizes: readonly number[]): Promise<void> {
  let offset = 0;
  for (let i = 0; offset < payload.length; i++) {
    const n = Math.min(sizes[i % sizes.length] as number, payload.length - offset);
    if (!socket.write(payload.subarray(offset, offset + n))) await new Promise((r) => socket.once('drain', r));
    offset += n;
  }
  socket.end();
}

interface Received {
  readonly chunks: Buffer[];
  readonly installed: boolean;
  readonly ended: Promise<void>;
  readonly closed: Promise<void>;
}

function receive(socket: Socket): Received {
  const chunks: Buffer[] = [];
  const installed = readIntoArenas(socket, (c) => chunks.push(c));
  if (!installed) socket.on('data', (c: Buffer) => chunks.push(c));
  return {
    chunks,
    installed,
    ended: new Promise((r) => socket.once('end', () => r())),
    closed: new Promise((r) => socket.once('close', () => r())),
  };
}

describe('readIntoArenas', () => {
  it('delivers what an accepted socket receives, in order, in arena views that later reads never overwrite', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3 * ARENA_SIZE }), fc.array(fc.integer({ min: 1, max: 200_000 }), { minLength: 1, maxLength: 6 }), async (size, sizes) => {
        const payload = randomBytes(size);
        const accepted = new Promise<Received>((ok) => {
          const server = createServer((s) => {
            server.close();
            ok(receive(s));
          });
          void listen(server).then(async (port) => {
            const client = connect(port, '127.0.0.1');
            await new Promise((r) => client.once('connect', r));
            await send(client, payload, sizes);
          });
        });
        const r = await accepted;
        await r.ended;
        await r.closed;
        expect(r.installed).toBe(true);
        // every chunk kept until the end still holds its bytes: the joined chunks are the payload
        expect(Buffer.concat(r.chunks).equals(payload)).toBe(true);
        for (const c of r.chunks) expect(c.buffer.byteLength).toBe(ARENA_SIZE);
      }),
      { numRuns: 15 },
    );
  });

  it('works on a connecting client socket, and a burst lands in reads larger than node’s 64 KiB', async () => {
    const payload = randomBytes(2 * ARENA_SIZE + 12345);
    const server = createServer((s) => {
      // the whole payload in one write: the client finds more than 64 KiB waiting per read
      s.end(payload);
    });
    const port = await listen(server);
    const client = connect(port, '127.0.0.1');
    const r = receive(client);
    // not reading until the payload waits in the socket's buffers
    client.pause();
    await new Promise((ok) => setTimeout(ok, 200));
    client.resume();
    await r.closed;
    server.close();
    expect(r.installed).toBe(true);
    expect(Buffer.concat(r.chunks).equals(payload)).toBe(true);
    expect(Math.max(...r.chunks.map((c) => c.length))).toBeGreaterThan(64 * 1024);
  });

  it('leaves TLS sockets and sockets that already read to the ordinary path', async () => {
    const server = createTlsServer({ cert: readFileSync(join(TLS_DIR, 'server.pem')), key: readFileSync(join(TLS_DIR, 'server.key')) }, (s) => s.end('over tls'));
    const port = await listen(server);
    const client = tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(join(TLS_DIR, 'ca.pem')), servername: 'localhost' });
    const r = receive(client);
    await r.closed;
    server.close();
    expect(r.installed).toBe(false);
    expect(Buffer.concat(r.chunks).toString()).toBe('over tls');

    const plain = createServer((s) => s.write('first'));
    const plainPort = await listen(plain);
    const again = connect(plainPort, '127.0.0.1');
    const first = await new Promise<Buffer>((ok) => again.once('data', ok));
    expect(first.toString()).toBe('first');
    expect(readIntoArenas(again, () => undefined)).toBe(false);
    again.destroy();
    plain.close();
  });

  it('reads the ordinary way with an arena size of 0, and refuses arenas smaller than 64 KiB', () => {
    const socket = connect(1, '127.0.0.1');
    socket.on('error', () => undefined);
    expect(readIntoArenas(socket, () => undefined, 0)).toBe(false);
    expect(() => readIntoArenas(socket, () => undefined, 1000)).toThrow(RangeError);
    socket.destroy();
  });
});
