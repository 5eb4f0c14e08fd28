import { createConnection, createServer, type Server } from 'node:net';
import { startRelay, type Relay } from './relay';

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
}

function exchange(port: number, payload: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.end(payload));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

describe('startRelay', () => {
  let target: Server;
  let targetPort: number;
  let relay: Relay | undefined;

  beforeEach(async () => {
    // answers each connection with the reversed bytes it received, so the test sees both directions
    target = createServer((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (c: Buffer) => chunks.push(c));
      socket.once('end', () => socket.end(Buffer.concat(chunks).reverse()));
    });
    targetPort = await listen(target);
  });

  afterEach(async () => {
    await relay?.close();
    relay = undefined;
    await new Promise((resolve) => target.close(resolve));
  });

  it('carries bytes both ways, across several connections at once', async () => {
    relay = await startRelay({ listenHost: '127.0.0.1', targetHost: '127.0.0.1', targetPort });
    expect(relay.port).not.toBe(targetPort);
    const big = Buffer.alloc(3 * 1024 * 1024, 7);
    big[0] = 1;
    const [a, b] = await Promise.all([exchange(relay.port, Buffer.from('abc')), exchange(relay.port, big)]);
    expect(a.toString()).toBe('cba');
    expect(b.length).toBe(big.length);
    expect(b[b.length - 1]).toBe(1);
    expect(relay.connections()).toBe(2);
  });

  it('resets the client when the target refuses', async () => {
    const closed = createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    relay = await startRelay({ listenHost: '127.0.0.1', targetHost: '127.0.0.1', targetPort: closedPort });
    const got = await exchange(relay.port, Buffer.from('x')).catch((err: NodeJS.ErrnoException) => err.code ?? 'error');
    // the client sees its connection end without data instead of waiting forever
    expect(got === 'ECONNRESET' || (Buffer.isBuffer(got) && got.length === 0)).toBe(true);
  });

  it('fails to start on an address this host does not have', async () => {
    await expect(startRelay({ listenHost: '192.0.2.1', targetHost: '127.0.0.1', targetPort })).rejects.toThrow(/EADDRNOTAVAIL/);
  });
});
