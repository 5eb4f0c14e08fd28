import { createServer, connect, type Server, type Socket } from 'node:net';
import { CONNECTION_LOST, H2_ERROR, H2Connection, type H2Stream, type LocalSettings } from './h2-connection';
import type { HeaderList } from './hpack';

// Two of the gateway's own HTTP/2 connections (client and server) over a real loopback socket.

const settings = (over: Partial<LocalSettings> = {}): LocalSettings => ({
  maxConcurrentStreams: 100,
  initialWindowSize: 65_535,
  connectionWindowSize: 65_535,
  maxFrameSize: 16_384,
  maxHeaderListSize: 64 * 1024,
  ...over,
});

interface Pair {
  client: H2Connection;
  server: Promise<H2Connection>;
  onStream: (fn: (s: H2Stream, h: HeaderList, end: boolean) => void) => void;
  close: () => Promise<void>;
}

async function pair(serverSettings: LocalSettings, clientSettings: LocalSettings): Promise<Pair> {
  let streamFn: (s: H2Stream, h: HeaderList, end: boolean) => void = () => undefined;
  let resolveServer: (c: H2Connection) => void = () => undefined;
  const server: Promise<H2Connection> = new Promise((r) => (resolveServer = r));
  const srv: Server = createServer((socket: Socket) => {
    resolveServer(new H2Connection(socket, 'server', serverSettings, { onStream: (s, h, e) => streamFn(s, h, e) }));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  const client = new H2Connection(connect(port, '127.0.0.1'), 'client', clientSettings);
  return {
    client,
    server,
    onStream: (fn) => (streamFn = fn),
    close: async () => {
      client.destroy();
      (await server).destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

const REQUEST = [':method', 'POST', ':scheme', 'http', ':path', '/echo', ':authority', 'x'];

test('a body far beyond both flow-control windows arrives whole, in order, with its trailers', async () => {
  const p = await pair(settings({ initialWindowSize: 16_384, connectionWindowSize: 65_535 }), settings());
  const body = Buffer.alloc(1_000_000);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  // the server echoes what it gets, passing credit back only once each chunk went out
  p.onStream((s) => {
    s.sendHeaders([':status', '200'], undefined, false);
    s.handler = {
      onHeaders: () => undefined,
      onData: (stream, data, end) => {
        stream.creditTo = stream;
        stream.sendData(Buffer.from(data), false);
        if (end) stream.sendTrailers(['grpc-status', '0'], undefined);
      },
      onReset: () => undefined,
    };
  });
  const got: Buffer[] = [];
  const done = new Promise<string[]>((resolve, reject) => {
    const s = p.client.request(REQUEST, undefined, false, {
      onHeaders: (_s, h, end) => end && resolve(h.fields),
      onData: (stream, d) => {
        got.push(Buffer.from(d));
        stream.consumed(d.length);
      },
      onReset: (_s, code) => reject(new Error(`reset ${code}`)),
    });
    for (let i = 0; i < body.length; i += 100_000) s.sendData(body.subarray(i, i + 100_000), i + 100_000 >= body.length);
  });
  expect(await done).toEqual(['grpc-status', '0']);
  expect(Buffer.concat(got).equals(body)).toBe(true);
  expect(p.client.activeStreams).toBe(0);
  await p.close();
});

test('large header blocks go out as HEADERS + CONTINUATION and come back intact', async () => {
  const p = await pair(settings({ maxHeaderListSize: 1024 * 1024 }), settings({ maxHeaderListSize: 1024 * 1024 }));
  const big = 'v'.repeat(40_000);
  const seen = new Promise<string[]>((resolve) => p.onStream((_s, h) => resolve(h.fields)));
  p.client.request([...REQUEST, 'x-big', big], undefined, true, { onHeaders: () => undefined, onData: () => undefined, onReset: () => undefined });
  expect((await seen).slice(-2)).toEqual(['x-big', big]);
  await p.close();
});

test('a reset reaches the other side; a fully closed stream is never reset on the wire', async () => {
  const p = await pair(settings(), settings());
  const resets: number[] = [];
  const serverStreams: H2Stream[] = [];
  p.onStream((s) => {
    serverStreams.push(s);
    s.handler = { onHeaders: () => undefined, onData: () => undefined, onReset: (_x, code) => resets.push(code) };
  });
  const a = p.client.request(REQUEST, undefined, false, { onHeaders: () => undefined, onData: () => undefined, onReset: () => undefined });
  await waitFor(() => serverStreams.length === 1);
  a.reset(H2_ERROR.CANCEL);
  await waitFor(() => resets.length === 1);
  expect(resets).toEqual([H2_ERROR.CANCEL]);
  // both ends finished: reset() only forgets the stream
  let ended = false;
  const b = p.client.request(REQUEST, undefined, true, { onHeaders: (_s, _h, end) => (ended = end), onData: () => undefined, onReset: () => undefined });
  await waitFor(() => serverStreams.length === 2);
  serverStreams[1]?.sendHeaders([':status', '200', 'grpc-status', '0'], undefined, true);
  await waitFor(() => ended);
  b.reset(H2_ERROR.CANCEL);
  await new Promise((r) => setTimeout(r, 50));
  expect(resets).toEqual([H2_ERROR.CANCEL]);
  await p.close();
});

test('streams on a connection that dies hear CONNECTION_LOST; PING round-trips', async () => {
  const p = await pair(settings(), settings());
  const pong = new Promise<Error | undefined>((resolve) => p.client.ping(resolve));
  expect(await pong).toBeUndefined();
  const lost = new Promise<number>((resolve) =>
    p.client.request(REQUEST, undefined, false, { onHeaders: () => undefined, onData: () => undefined, onReset: (_s, code) => resolve(code) }),
  );
  (await p.server).destroy();
  expect(await lost).toBe(CONNECTION_LOST);
  await p.close();
});

async function waitFor(predicate: () => boolean, timeoutMs = 3000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
