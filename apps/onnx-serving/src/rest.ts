import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseVersion, type ModelStatus, type TensorSpec } from '@bundlegate/model-runtime';
import { bgError, createAdminHandler, REQUEST_ID_HEADER, toBgError, type BgError, type Metrics } from '@bundlegate/service-kit';
import { encodeInferResponseJson, INFERENCE_HEADER_CONTENT_LENGTH, wantsBinaryOutput } from '@bundlegate/tensors';
import { restInferRequest } from './request-tensors';
import { observeModelCall, PLATFORM, SERVER_NAME, SERVER_VERSION, type ServingContext } from './serving-context';

// The REST listener: KServe v2 (`/v2/...`, JSON and the binary data extension), OVMS's `/v1/config`,
// TF Serving's model status (`/v1/models/{m}`), and `/healthz`, `/readyz`, `/metrics`.

export interface RestOptions {
  /** Largest request body accepted, in bytes (413 beyond). */
  readonly maxBodyBytes: number;
  readonly metrics: Metrics;
}

/**
 * Error bodies: `{"error": "<message>"}` as OVMS and Triton write them, plus the stable registry code and,
 * when there are any, its public details: `{"error": "...", "code": "BG_INVALID_SHAPE", "details": {...}}`.
 */
export function restErrorBody(err: BgError): Record<string, unknown> {
  const { code: _code, message: _message, ...details } = err.toJSON();
  return Object.keys(details).length > 0 ? { error: err.message, code: err.code, details } : { error: err.message, code: err.code };
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void> | void;

interface Route {
  readonly pattern: RegExp;
  readonly methods: Readonly<Record<string, Handler>>;
}

const SEGMENT = '([^/]+)';

function send(res: ServerResponse, status: number, body: unknown, head: boolean): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.statusCode = status;
  if (text !== '') res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(head ? undefined : text);
}

function sendError(res: ServerResponse, err: unknown, head = false): void {
  const e = toBgError(err);
  if (e.code === 'BG_METHOD_NOT_ALLOWED') res.setHeader('allow', (e.details as { allowed: readonly string[] }).allowed.join(', '));
  send(res, e.httpStatus, restErrorBody(e), head);
}

/** Reads the whole body, refusing more than `limit` bytes (by Content-Length up front, else as it streams). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(bgError('BG_BODY_TOO_LARGE', { limit }));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.byteLength;
      if (size > limit) {
        failed = true;
        reject(bgError('BG_BODY_TOO_LARGE', { limit }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) reject(err);
    });
  });
}

const tensorMetadata = (t: TensorSpec): { name: string; datatype: string; shape: number[] } => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] });

/** OVMS's `/v1/config` and TF Serving's REST model status entry. */
function versionStatusJson(status: ModelStatus): { model_version_status: unknown[] } {
  return {
    model_version_status: status.versions.map((v) => ({
      version: String(v.version),
      state: v.state,
      status: { error_code: v.errorCode, error_message: v.errorMessage },
    })),
  };
}

export function createRestHandler(ctx: ServingContext, options: RestOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { manager, health } = ctx;
  const admin = createAdminHandler({ health, metrics: options.metrics });
  const call = (req: IncomingMessage, method: string, model: string, version: string, inference = false) => {
    const header = req.headers[REQUEST_ID_HEADER];
    return { api: 'KServe', interface: 'REST', method, model, version, inference, requestId: Array.isArray(header) ? header[0] : header } as const;
  };

  const modelMetadata: Handler = (req, res, [model = '', version = '']) =>
    observeModelCall(ctx, call(req, 'ModelMetadata', model, version), () => {
      const lease = manager.acquire(model, parseVersion(model, version));
      try {
        const m = lease.model;
        send(res, 200, { name: m.name, versions: manager.availableVersions(m.name).map(String), platform: PLATFORM, inputs: m.inputs.map(tensorMetadata), outputs: m.outputs.map(tensorMetadata) }, req.method === 'HEAD');
      } finally {
        lease.release();
      }
    });

  const modelReady: Handler = (req, res, [model = '', version = '']) =>
    observeModelCall(ctx, call(req, 'ModelReady', model, version), () => {
      const v = parseVersion(model, version);
      const status = manager.status(model);
      if (v !== undefined && !status.versions.some((s) => s.version === v && s.state !== 'END')) {
        throw bgError('BG_UNKNOWN_VERSION', { modelId: model, version: String(v), known: manager.availableVersions(model).map(String) });
      }
      if (!manager.isReady(model, v)) throw bgError('BG_MODEL_NOT_READY', { modelId: model, reason: v === undefined ? 'no version is loaded' : `version ${v} is not loaded` });
      send(res, 200, undefined, req.method === 'HEAD');
    });

  const infer: Handler = async (req, res, [model = '', version = '']) => {
    const body = await readBody(req, options.maxBodyBytes);
    await observeModelCall(ctx, call(req, 'ModelInfer', model, version, true), async (tracker) => {
      const v = parseVersion(model, version);
      manager.checkModel(model);
      const header = req.headers[INFERENCE_HEADER_CONTENT_LENGTH];
      const request = restInferRequest(body, Array.isArray(header) ? header[0] : header);
      const result = await manager.infer({ model, version: v, inputs: request.inputs, outputs: request.outputs.map((o) => o.name), moveInputs: true, onVersion: tracker.pinned });
      ctx.metrics.inference(result.model, String(result.version), result.inferenceUs);
      let encoded;
      try {
        encoded = encodeInferResponseJson(
          { modelName: result.model, modelVersion: String(result.version), id: request.id, outputs: result.outputs },
          { binary: (t) => wantsBinaryOutput(request, t.name ?? '') },
        );
      } catch (err) {
        // an output with no JSON form (non-UTF-8 bytes, NaN): the client can ask for it as binary data
        throw bgError('BG_INVALID_ARGUMENT', { field: 'outputs', expected: 'outputs with a JSON form, or "binary_data": true' }, { message: (err as Error).message, cause: err });
      }
      res.statusCode = 200;
      res.setHeader('content-type', encoded.contentType);
      res.setHeader('content-length', encoded.byteLength);
      if (encoded.headerLength !== undefined) res.setHeader(INFERENCE_HEADER_CONTENT_LENGTH, encoded.headerLength);
      for (const part of encoded.parts) res.write(part);
      res.end();
    });
  };

  const modelStatus: Handler = (req, res, [model = '', version = '']) => {
    const status = manager.status(model);
    const v = parseVersion(model, version);
    const filtered = v === undefined ? status : { ...status, versions: status.versions.filter((s) => s.version === v) };
    if (v !== undefined && filtered.versions.length === 0) {
      throw bgError('BG_UNKNOWN_VERSION', { modelId: model, version: String(v), known: status.versions.map((s) => String(s.version)) });
    }
    send(res, 200, versionStatusJson(filtered), req.method === 'HEAD');
  };

  const routes: Route[] = [
    { pattern: /^\/v2\/health\/live$/, methods: { GET: (req, res) => send(res, health.live ? 200 : 503, undefined, req.method === 'HEAD') } },
    { pattern: /^\/v2\/health\/ready$/, methods: { GET: (req, res) => send(res, health.isReady() ? 200 : 503, undefined, req.method === 'HEAD') } },
    { pattern: /^\/v2\/?$/, methods: { GET: (req, res) => send(res, 200, { name: SERVER_NAME, version: SERVER_VERSION, extensions: ['binary_tensor_data'] }, req.method === 'HEAD') } },
    { pattern: new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?$`), methods: { GET: modelMetadata } },
    { pattern: new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?/ready$`), methods: { GET: modelReady } },
    { pattern: new RegExp(`^/v2/models/${SEGMENT}(?:/versions/${SEGMENT})?/infer$`), methods: { POST: infer } },
    {
      pattern: /^\/v1\/config$/,
      methods: { GET: (req, res) => send(res, 200, Object.fromEntries(manager.statuses().map((s) => [s.name, versionStatusJson(s)])), req.method === 'HEAD') },
    },
    { pattern: new RegExp(`^/v1/models/${SEGMENT}(?:/versions/${SEGMENT})?$`), methods: { GET: modelStatus } },
  ];

  const dispatch = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    for (const route of routes) {
      const match = route.pattern.exec(path);
      if (match === null) continue;
      const handler = route.methods[method === 'HEAD' ? 'GET' : method];
      if (handler === undefined) {
        const allowed = Object.keys(route.methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
        throw bgError('BG_METHOD_NOT_ALLOWED', { method, path, allowed });
      }
      const params = match.slice(1).map((p) => (p === undefined ? '' : safeDecode(p)));
      await handler(req, res, params);
      return;
    }
    throw bgError('BG_NOT_FOUND', { method, path });
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path === '/healthz' || path === '/readyz' || path === '/metrics') {
      admin(req, res);
      return;
    }
    dispatch(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      sendError(res, err, req.method === 'HEAD');
      // a body refused before it was read would otherwise keep the connection busy draining it
      if (!req.complete) req.resume();
    });
  };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
