import { join } from 'node:path';
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { loadSignatureFile, type BundleSignature } from '@bundlegate/bundle';
import { bgv1 } from '@bundlegate/protos';
import { createLogger } from '@bundlegate/service-kit';
import sharp from 'sharp';
import { GatewayBackend } from '../src/backend-gateway';
import { createModelProxy, type ModelProxy, type ModelProxyOptions } from '../src/model-proxy';

export const FIXTURES = join(__dirname, 'fixtures');
export const DEMO_DIR = join(__dirname, '..', '..', '..', 'deploy', 'demo');

export interface RunningProxy {
  readonly proxy: ModelProxy;
  readonly http: string;
  readonly grpc: bgv1.ModelProxyClient;
  readonly grpcAddress: string;
  close(): Promise<void>;
}

/** A proxy on 127.0.0.1 ports 0, calling `backendAddress` as its gateway. */
export async function startProxy(
  signature: BundleSignature | string,
  backendAddress: string,
  options: Partial<ModelProxyOptions> = {},
): Promise<RunningProxy> {
  const sig = typeof signature === 'string' ? await loadSignatureFile(signature) : signature;
  const logger = createLogger({ service: 'model-proxy', level: process.env['LOG_LEVEL'] === undefined ? 'silent' : (process.env['LOG_LEVEL'] as 'info') });
  const backend = new GatewayBackend({ target: backendAddress, maxMessageBytes: 100 * 1024 * 1024 });
  const proxy = createModelProxy({ signature: sig, backend, logger, readinessIntervalMs: 0, ...options });
  const { httpPort, grpcPort } = await proxy.listen({ host: '127.0.0.1', httpPort: 0, grpcPort: 0 });
  const grpcAddress = `127.0.0.1:${grpcPort}`;
  const grpc = new bgv1.ModelProxyClient(grpcAddress, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 100 * 1024 * 1024,
    'grpc.max_send_message_length': 100 * 1024 * 1024,
  });
  return {
    proxy,
    http: `http://127.0.0.1:${httpPort}`,
    grpc,
    grpcAddress,
    close: async () => {
      grpc.close();
      await proxy.close(1000);
    },
  };
}

/** A JPEG of a smooth gradient, `width` × `height`. */
export async function gradientJpeg(width: number, height: number): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      raw[p] = Math.round((255 * x) / Math.max(1, width - 1));
      raw[p + 1] = Math.round((255 * y) / Math.max(1, height - 1));
      raw[p + 2] = 128;
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

export async function postForm(url: string, form: FormData, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const res = await fetch(url, { method: 'POST', body: form, headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

export function errorOf(answer: HttpAnswer): Record<string, unknown> {
  return answer.body['error'] as Record<string, unknown>;
}

/** A bgv1 unary call as a promise; metadata `model-id` when `modelId` is given. */
export function grpcPredict(client: bgv1.ModelProxyClient, request: Partial<bgv1.PredictRequest>, modelId?: string): Promise<bgv1.PredictResponse> {
  const metadata = new Metadata();
  if (modelId !== undefined) metadata.set('model-id', modelId);
  return new Promise((resolve, reject) =>
    client.predict({ modelId: '', inputs: {}, ...request }, metadata, (err: ServiceError | null, res) => (err ? reject(err) : resolve(res))),
  );
}

export function grpcGetConfig(client: bgv1.ModelProxyClient): Promise<bgv1.GetConfigResponse> {
  return new Promise((resolve, reject) => client.getConfig({}, (err: ServiceError | null, res) => (err ? reject(err) : resolve(res))));
}
