import express, { type NextFunction, type Request, type Response } from 'express';
import {
  bgError,
  createAdminHandler,
  REQUEST_ID_HEADER,
  requestId,
  toBgError,
  toHttpError,
  type HealthState,
  type Logger,
  type Metrics,
} from '@bundlegate/service-kit';
import { apiReferenceRouter } from './api-reference';
import { configView } from './config-view';
import type { FriendlyValue } from './friendly-input';
import type { ModelCatalog, ProxyModel } from './model-catalog';
import { readMultipart } from './multipart';
import { API_PREFIX, type OpenApiDocument } from './openapi';
import type { Predictor } from './predictor';
import type { Readiness } from './readiness';
import { OUTPUT_ENCODINGS, renderPredictJson, type OutputEncoding } from './render-json';
import type { RequestValidator } from './request-validator';

export interface HttpAppDeps {
  readonly catalog: ModelCatalog;
  readonly predictor: Predictor;
  readonly validator: RequestValidator;
  readonly openapi: OpenApiDocument;
  readonly readiness: Readiness;
  readonly backendKind: string;
  readonly health: HealthState;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Largest request body, JSON or multipart. */
  readonly maxBodyBytes: number;
}

/** Paths this app serves and their methods, so a wrong method gets 405 instead of 404. */
const ROUTES: readonly { readonly pattern: RegExp; readonly methods: readonly string[] }[] = [
  { pattern: /^\/api\/v1\/config$/, methods: ['GET', 'HEAD'] },
  { pattern: /^\/api\/v1\/openapi\.json$/, methods: ['GET', 'HEAD'] },
  { pattern: /^\/api\/v1\/models\/[^/]+\/predict$/, methods: ['POST'] },
  { pattern: /^\/api\/v1\/predict$/, methods: ['POST'] },
];

const MAX_FORM_PARTS = 64;

/** The model proxy's HTTP API as an express app; `listen()` is the caller's, so tests can bind port 0. */
export function createHttpApp(deps: HttpAppDeps): express.Express {
  const { catalog, predictor, validator, openapi, readiness, metrics, logger } = deps;
  const log = logger.child({ module: 'http' });
  const requests = metrics.counter({ name: 'model_proxy_http_requests_total', help: 'HTTP requests by route and status.', labelNames: ['route', 'status'] });
  const latency = metrics.histogram({ name: 'model_proxy_http_request_duration_seconds', help: 'HTTP request latency by route.', labelNames: ['route'] });

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');

  app.use((req, res, next) => {
    const id = requestId(req.headers[REQUEST_ID_HEADER]);
    res.locals['requestId'] = id;
    res.setHeader(REQUEST_ID_HEADER, id);
    const started = performance.now();
    res.on('finish', () => {
      const route = (res.locals['route'] as string | undefined) ?? 'other';
      requests.inc({ route, status: String(res.statusCode) });
      latency.observe({ route }, (performance.now() - started) / 1000);
    });
    next();
  });

  app.use(createAdminHandler({ health: deps.health, metrics }));

  const json = express.json({ limit: deps.maxBodyBytes, type: ['application/json', 'application/*+json'] });

  app.get(`${API_PREFIX}/config`, async (_req, res) => {
    res.locals['route'] = 'config';
    const ready = await readiness.current();
    res.json(configView(catalog, deps.backendKind, ready));
  });

  const openapiText = JSON.stringify(openapi);
  app.get(`${API_PREFIX}/openapi.json`, (_req, res) => {
    res.locals['route'] = 'openapi';
    res.type('application/json').send(openapiText);
  });

  app.get(`${API_PREFIX}/docs`, (req, res, next) => {
    // the page loads its assets by relative URL, so it must be addressed as a directory
    if ((req.originalUrl.split('?', 1)[0] as string).endsWith('/')) return next();
    res.redirect(301, `${API_PREFIX}/docs/`);
  });
  app.use(`${API_PREFIX}/docs`, apiReferenceRouter('../openapi.json'));

  const predict = async (req: Request, res: Response, modelId: string): Promise<void> => {
    res.locals['route'] = 'predict';
    const model = catalog.get(modelId);
    const encoding = outputEncoding(req.query['encoding']);
    const values = await readInputs(req, res, model);
    const result = await predictor.predict(model, values, { requestId: res.locals['requestId'] as string });
    res.type('application/json').send(JSON.stringify(renderPredictJson(result, encoding)));
  };

  const readInputs = async (req: Request, res: Response, model: ProxyModel): Promise<Map<string, FriendlyValue>> => {
    const type = req.headers['content-type'] ?? '';
    if (req.is('multipart/form-data')) {
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > deps.maxBodyBytes) throw bgError('BG_BODY_TOO_LARGE', { limit: deps.maxBodyBytes });
      const parts = await readMultipart(req, { maxBytes: deps.maxBodyBytes, maxParts: MAX_FORM_PARTS });
      validator.checkForm(model, Object.fromEntries([...parts].map(([name, part]) => [name, part.kind === 'field' ? part.data : ''])));
      const values = new Map<string, FriendlyValue>();
      for (const [name, part] of parts) {
        const input = model.input(name);
        if (input === undefined) throw bgError('BG_UNEXPECTED_INPUT', { field: name, expected: `only ${model.describeInputs()}` });
        if (input.plan.typeId === 'Image') {
          values.set(name, part.kind === 'file' ? { kind: 'image', bytes: part.data } : input.fromJson(part.data));
        } else {
          values.set(name, input.fromJson(parseJsonPart(name, part.kind === 'file' ? part.data.toString('utf8') : part.data)));
        }
      }
      return values;
    }
    if (req.is(['application/json', 'application/*+json'])) {
      await new Promise<void>((resolve, reject) => json(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
      const body: unknown = req.body;
      validator.checkJson(model, body);
      const inputs = (body as { inputs: Record<string, unknown> }).inputs;
      const values = new Map<string, FriendlyValue>();
      for (const [key, value] of Object.entries(inputs)) {
        const input = model.input(key);
        if (input === undefined) throw bgError('BG_UNEXPECTED_INPUT', { field: key, expected: `only ${model.describeInputs()}` });
        values.set(key, input.fromJson(value));
      }
      return values;
    }
    throw bgError('BG_UNSUPPORTED_MEDIA_TYPE', { expected: 'application/json or multipart/form-data', got: type === '' ? undefined : type });
  };

  app.post(`${API_PREFIX}/models/:id/predict`, (req, res) => predict(req, res, req.params['id'] as string));
  app.post(`${API_PREFIX}/predict`, (req, res) => {
    const header = req.headers['model-id'];
    const modelId = Array.isArray(header) ? header[0] : header;
    if (modelId === undefined || modelId === '') throw bgError('BG_MISSING_MODEL_ID');
    return predict(req, res, modelId);
  });

  app.use((req: Request, res: Response) => {
    const route = ROUTES.find((r) => r.pattern.test(req.path));
    if (route !== undefined) {
      res.setHeader('allow', route.methods.join(', '));
      throw bgError('BG_METHOD_NOT_ALLOWED', { method: req.method, path: req.path, allowed: route.methods });
    }
    throw bgError('BG_NOT_FOUND', { method: req.method, path: req.path });
  });

  // the one HTTP error boundary: every thrown value becomes {"error": {...}} with its registry status
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const e = toBgError(err);
    const { status, body } = toHttpError(e);
    const context = { reqId: res.locals['requestId'], method: req.method, path: req.path, code: e.code, status };
    if (status >= 500) log.error({ ...context, err: e.cause ?? e }, e.message);
    else log.debug(context, e.message);
    if (res.headersSent) {
      res.end();
      return;
    }
    res.status(status).type('application/json').send(JSON.stringify(body));
  });

  return app;
}

function outputEncoding(value: unknown): OutputEncoding {
  if (value === undefined) return 'json';
  if (typeof value === 'string' && (OUTPUT_ENCODINGS as readonly string[]).includes(value)) return value as OutputEncoding;
  throw bgError('BG_INVALID_ARGUMENT', { field: 'encoding', expected: OUTPUT_ENCODINGS.join(' or '), got: typeof value === 'string' ? value : String(value) });
}

function parseJsonPart(name: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw bgError('BG_INVALID_INPUT_TYPE', { field: name, expected: 'a JSON value in the part', got: 'text that is not JSON' });
  }
}
