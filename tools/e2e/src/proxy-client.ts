import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { bgv1 } from '@bundlegate/protos';

// Clients of the model proxy's public API, as a user on the host would call it.

export interface HttpAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly text: string;
}

async function answer(response: Response): Promise<HttpAnswer> {
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the caller sees `text`
  }
  return { status: response.status, body, text };
}

export class ProxyHttp {
  constructor(readonly baseUrl: string) {}

  async get(path: string): Promise<HttpAnswer> {
    return answer(await fetch(`${this.baseUrl}${path}`, { signal: AbortSignal.timeout(30_000) }));
  }

  /** POST /api/v1/models/{id}/predict as multipart/form-data, one part per input key (what `curl -F key=@file` sends). */
  async predictMultipart(modelId: string, parts: Readonly<Record<string, { data: Buffer; filename: string; type: string }>>, query = ''): Promise<HttpAnswer> {
    const form = new FormData();
    for (const [key, part] of Object.entries(parts)) form.append(key, new Blob([part.data], { type: part.type }), part.filename);
    const url = `${this.baseUrl}/api/v1/models/${encodeURIComponent(modelId)}/predict${query}`;
    return answer(await fetch(url, { method: 'POST', body: form, signal: AbortSignal.timeout(60_000) }));
  }
}

export function proxyGrpcClient(address: string): bgv1.ModelProxyClient {
  return new bgv1.ModelProxyClient(address, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 100 * 1024 * 1024,
    'grpc.max_send_message_length': 100 * 1024 * 1024,
  });
}

/** bundlegate.v1.ModelProxy/Predict with the model named only by `model-id` metadata, as gateway clients do. */
export function grpcPredictByMetadata(client: bgv1.ModelProxyClient, modelId: string, inputs: Record<string, bgv1.Input>): Promise<bgv1.PredictResponse> {
  const metadata = new Metadata();
  metadata.set('model-id', modelId);
  return new Promise((resolve, reject) => {
    client.predict({ modelId: '', inputs }, metadata, { deadline: Date.now() + 60_000 }, (error: ServiceError | null, response) => {
      if (error) reject(error);
      else resolve(response);
    });
  });
}
