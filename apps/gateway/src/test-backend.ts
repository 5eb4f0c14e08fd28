import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { addGrpcHealth, type GrpcHealthOptions, type HealthState } from '@bundlegate/service-kit';
import type { GatewayConfig } from './config';
import { DEFAULT_POOL_OPTIONS } from './connection-pool';
import { DEFAULT_CLUSTER_OPTIONS, type RouteSpec } from './route-config';

// Real grpc-js servers and clients on 127.0.0.1:0 for the gateway's tests. Messages are raw bytes
// (identity serializers) so the tests see exactly what went through.

export const TLS_DIR = join(__dirname, 'fixtures', 'tls');
export const tlsFile = (name: string): Buffer => readFileSync(join(TLS_DIR, name));

const id = (b: Buffer): Buffer => b;

function method(path: string, requestStream: boolean, responseStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return { path, requestStream, responseStream, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id };
}

export const TEST_METHODS = {
  Unary: method('/test.Echo/Unary', false, false),
  ServerStream: method('/test.Echo/ServerStream', false, true),
  ClientStream: method('/test.Echo/ClientStream', true, false),
  Bidi: method('/inference.GRPCInferenceService/ModelStreamInfer', true, true),
  Fail: method('/test.Echo/Fail', false, false),
  Slow: method('/test.Echo/Slow', false, false),
  ModelInfer: method('/inference.GRPCInferenceService/ModelInfer', false, false),
} as const;

export interface SeenCall {
  readonly path: string;
  readonly metadata: Record<string, unknown>;
  readonly deadline: grpc.Deadline | undefined;
  cancelled: boolean;
}

export interface TestBackend {
  readonly name: string;
  readonly port: number;
  readonly server: grpc.Server;
  readonly seen: SeenCall[];
  /** Answer Unary with UNAVAILABLE (as a draining server) while true. */
  unavailable: boolean;
  close(): Promise<void>;
}

export interface BackendHealth {
  readonly state: HealthState;
  readonly options?: GrpcHealthOptions;
}

/**
 * A grpc-js server that echoes and reports what it saw; `name` comes back in metadata `x-backend`.
 * With `health`, it also serves grpc.health.v1.Health on that state.
 */
export async function startBackend(name: string, credentials = grpc.ServerCredentials.createInsecure(), health?: BackendHealth): Promise<TestBackend> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  if (health !== undefined) addGrpcHealth(server, health.state, health.options);
  const seen: SeenCall[] = [];
  const backend = { name, server, seen, unavailable: false } as { -readonly [K in keyof TestBackend]: TestBackend[K] };
  const record = (call: { getPath(): string; metadata: grpc.Metadata; getDeadline(): grpc.Deadline }): SeenCall => {
    const s: SeenCall = { path: call.getPath(), metadata: call.metadata.getMap(), deadline: call.getDeadline(), cancelled: false };
    seen.push(s);
    return s;
  };
  const headers = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    m.set('x-backend', name);
    return m;
  };
  const trailers = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    m.set('x-trailer', `done-by-${name}`);
    m.set('x-trailer-bin', Buffer.from([0, 1, 2, 255]));
    return m;
  };
  server.addService(TEST_METHODS as unknown as grpc.ServiceDefinition, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      record(call);
      if (backend.unavailable) {
        cb({ code: grpc.status.UNAVAILABLE, details: 'draining' });
        return;
      }
      call.sendMetadata(headers());
      const echoBin = call.metadata.get('x-echo-bin')[0];
      const t = trailers();
      if (Buffer.isBuffer(echoBin)) t.set('x-echoed-bin', echoBin);
      cb(null, call.request, t);
    },
    ModelInfer: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      record(call);
      cb(null, Buffer.from(name));
    },
    ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const s = record(call);
      call.on('cancelled', () => (s.cancelled = true));
      call.sendMetadata(headers());
      const n = call.request.readUInt8(0);
      const gapMs = call.request.length > 1 ? call.request.readUInt8(1) : 0;
      let i = 0;
      const next = (): void => {
        if (s.cancelled) return;
        if (i === n) {
          call.end(trailers());
          return;
        }
        call.write(Buffer.from([i++]));
        if (gapMs > 0) setTimeout(next, gapMs);
        else next();
      };
      next();
    },
    ClientStream: (call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      record(call);
      const parts: Buffer[] = [];
      call.on('data', (b: Buffer) => parts.push(b));
      call.on('end', () => cb(null, Buffer.concat(parts), trailers()));
    },
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      record(call);
      call.on('data', (b: Buffer) => call.write(Buffer.concat([Buffer.from(`${name}:`), b])));
      call.on('end', () => call.end(trailers()));
    },
    Fail: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      record(call);
      const m = trailers();
      m.set('grpc-status-details-bin', Buffer.from('rich-status-details'));
      cb({ code: grpc.status.FAILED_PRECONDITION, details: 'model ünloaded: 100% sure', metadata: m });
    },
    Slow: (call: grpc.ServerUnaryCall<Buffer, Buffer>) => {
      const s = record(call);
      call.on('cancelled', () => (s.cancelled = true));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  backend.port = port;
  backend.close = () => new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  return backend;
}

/** A generic client for any path with raw-bytes messages. */
export function rawClient(port: number, credentials = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, credentials, { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1, ...options });
}

export interface UnaryOutcome {
  readonly error: grpc.ServiceError | null;
  readonly response: Buffer | undefined;
  readonly headers: grpc.Metadata | undefined;
  readonly trailers: grpc.Metadata | undefined;
}

export function unary(client: grpc.Client, path: string, request: Buffer, metadata: grpc.Metadata, options: grpc.CallOptions = {}): Promise<UnaryOutcome> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let trailers: grpc.Metadata | undefined;
    const call = client.makeUnaryRequest(path, id, id, request, metadata, options, (error, response) => {
      setImmediate(() => resolve({ error, response, headers, trailers }));
    });
    call.on('metadata', (m: grpc.Metadata) => (headers = m));
    call.on('status', (s: grpc.StatusObject) => (trailers = s.metadata));
  });
}

export function md(entries: Record<string, string | Buffer>): grpc.Metadata {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
}

export function routeTo(modelId: string, ports: readonly number[], extra: Partial<RouteSpec> = {}): RouteSpec {
  return {
    modelId,
    cluster: `s${modelId}s`,
    endpoints: ports.map((port) => ({ host: '127.0.0.1', port })),
    restEndpoints: [],
    ...DEFAULT_CLUSTER_OPTIONS,
    healthCheck: { ...DEFAULT_CLUSTER_OPTIONS.healthCheck, kind: 'none' },
    ...extra,
  };
}

/** A gateway config on 127.0.0.1:0 with routes given in-process. */
export function testConfig(routes: readonly string[], overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    host: '127.0.0.1',
    port: 0,
    restPort: 0,
    adminPort: undefined,
    source: { kind: 'flags', routes, restRoutes: [] },
    reloadIntervalMs: 0,
    dnsRefreshMs: 0,
    clusterDefaults: { ...DEFAULT_CLUSTER_OPTIONS, healthCheck: { ...DEFAULT_CLUSTER_OPTIONS.healthCheck, kind: 'none' } },
    pool: { ...DEFAULT_POOL_OPTIONS, keepaliveMs: 0, connectTimeoutMs: 2000 },
    listener: {
      streamWindow: DEFAULT_POOL_OPTIONS.streamWindow,
      connectionWindow: DEFAULT_POOL_OPTIONS.connectionWindow,
      maxFrameSize: DEFAULT_POOL_OPTIONS.maxFrameSize,
      maxConcurrentStreams: 1000,
      maxHeaderListSize: 256 * 1024,
      sniffModelName: false,
    },
    retryBufferBytes: 16 * 1024 * 1024,
    readyPolicy: 'all',
    drainTimeoutMs: 2000,
    ...overrides,
  };
}
