import { createConnection, createServer, type Socket } from 'node:net';

// A TCP relay: containers reach a host service that binds 127.0.0.1 (the s3rver harness) through an
// address of the host they can route to (their network's gateway).

export interface RelayOptions {
  /** Address to listen on, e.g. the compose network's gateway IP. */
  readonly listenHost: string;
  /** Port to listen on; 0 (default) picks a free one. */
  readonly listenPort?: number;
  readonly targetHost: string;
  readonly targetPort: number;
}

export interface Relay {
  readonly host: string;
  readonly port: number;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const open = new Set<Socket>();
  let accepted = 0;
  // half-open on both sides: a client that ends its request still gets the whole response
  const server = createServer({ allowHalfOpen: true }, (client) => {
    accepted += 1;
    const upstream = createConnection({ host: opts.targetHost, port: opts.targetPort, allowHalfOpen: true });
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    // either side failing ends both, so the peer sees a reset instead of a hang
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listenPort ?? 0, opts.listenHost, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('relay: no TCP address');
  return {
    host: opts.listenHost,
    port: address.port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
