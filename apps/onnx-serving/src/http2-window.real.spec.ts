import { connect, type ClientHttp2Session } from 'node:http2';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { raiseConnectionWindow, raiseStreamWindow } from './http2-window';

const WINDOW = 8 * 1024 * 1024;

async function bound(raise: boolean): Promise<{ server: Server; port: number }> {
  const server = new Server();
  if (raise) raiseStreamWindow(server, WINDOW);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  if (raise) raiseConnectionWindow(server, WINDOW);
  return { server, port };
}

/** What a client learns from the server: its SETTINGS and, after its WINDOW_UPDATE, the connection window. */
async function windowsSeenBy(port: number): Promise<{ stream: number | undefined; connection: number | undefined }> {
  const session: ClientHttp2Session = connect(`http://127.0.0.1:${port}`);
  // the server's shutdown at the end of a test closes the connection with GOAWAY
  session.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => session.once('remoteSettings', () => resolve()));
    // the connection WINDOW_UPDATE follows the SETTINGS frame
    await new Promise((r) => setTimeout(r, 100));
    return { stream: session.remoteSettings.initialWindowSize, connection: session.state.remoteWindowSize };
  } finally {
    session.close();
  }
}

describe('raising grpc-js HTTP/2 windows', () => {
  it('advertises the larger stream and connection windows to clients', async () => {
    const { server, port } = await bound(true);
    try {
      expect(await windowsSeenBy(port)).toEqual({ stream: WINDOW, connection: WINDOW });
    } finally {
      server.forceShutdown();
    }
  });

  it('changes nothing a plain grpc-js server advertises otherwise', async () => {
    const { server, port } = await bound(false);
    try {
      expect(await windowsSeenBy(port)).toEqual({ stream: 65535, connection: 65535 });
    } finally {
      server.forceShutdown();
    }
  });
});
