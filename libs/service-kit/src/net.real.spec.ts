import { createServer } from 'node:http';
import {
  credentials,
  makeGenericClientConstructor,
  Server,
  status,
  type ChannelOptions,
  type Client,
  type ServiceError,
} from '@grpc/grpc-js';
import { bindGrpc, closeGrpcServer, closeHttpServer, grpcMessageLimits, listenHttp, requestId } from './net';

describe('listenHttp', () => {
  it('binds port 0 and reports the real port; a taken port rejects', async () => {
    const a = createServer((_req, res) => res.end('a'));
    const port = await listenHttp(a, '127.0.0.1', 0);
    expect(port).toBeGreaterThan(0);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('a');
    const b = createServer();
    await expect(listenHttp(b, '127.0.0.1', port)).rejects.toThrow(/EADDRINUSE/);
    await closeHttpServer(a, 100);
  });
});

// a raw-bytes echo method: enough to push a message of any size through grpc-js
const echoService = {
  echo: {
    path: '/test.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
} as const;
const EchoClient = makeGenericClientConstructor(echoService, 'Echo');

async function echo(serverOptions: ChannelOptions, clientOptions: ChannelOptions, size: number) {
  const server = new Server(serverOptions);
  server.addService(echoService, { echo: (call: { request: Buffer }, cb: (e: null, b: Buffer) => void) => cb(null, call.request) });
  const port = await bindGrpc(server, '127.0.0.1', 0);
  const client = new EchoClient(`127.0.0.1:${port}`, credentials.createInsecure(), clientOptions) as unknown as Client & {
    echo(b: Buffer, cb: (e: ServiceError | null, r: Buffer) => void): void;
  };
  try {
    return await new Promise<{ bytes?: number; code?: number }>((resolve) =>
      client.echo(Buffer.alloc(size, 7), (err, res) => resolve(err ? { code: err.code } : { bytes: res.length })),
    );
  } finally {
    client.close();
    await closeGrpcServer(server, 100);
  }
}

describe('bindGrpc and grpcMessageLimits', () => {
  const size = 8 * 1024 * 1024;

  it('carries an 8 MiB message when both sides raise the limits', async () => {
    expect(await echo(grpcMessageLimits(), grpcMessageLimits(), size)).toEqual({ bytes: size });
  });

  it('fails with RESOURCE_EXHAUSTED under the 4 MiB default', async () => {
    expect(await echo({}, grpcMessageLimits(), size)).toEqual({ code: status.RESOURCE_EXHAUSTED });
  });
});

describe('requestId', () => {
  it('keeps a plain incoming id and replaces anything else with a UUID', () => {
    expect(requestId('abc-123')).toBe('abc-123');
    expect(requestId(['first', 'second'])).toBe('first');
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(requestId(undefined)).toMatch(uuid);
    expect(requestId('has space')).toMatch(uuid);
    expect(requestId('x'.repeat(129))).toMatch(uuid);
    expect(requestId('inject\n{"level":"fatal"}')).toMatch(uuid);
    expect(requestId()).not.toBe(requestId());
  });
});
