import { Agent } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { bgError, isBgError, type AdminHandler, type Logger } from '@bundlegate/service-kit';
import type { RouterState } from './grpc-listener';
import type { GatewayMetrics } from './metrics';
import { rescueHttp } from './rescue';

export interface RestAppDeps {
  readonly state: RouterState;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** /healthz /readyz /metrics; absent when they live on their own admin port. */
  readonly admin?: AdminHandler;
}

interface Target {
  modelId: string;
  url: string;
}

function targetOf(res: Response): Target | undefined {
  return res.locals['gatewayTarget'] as Target | undefined;
}

/** The admin routes the REST port and the admin port share. */
export function mountAdmin(app: express.Express, state: RouterState, admin: AdminHandler): void {
  app.get('/routes', (_req, res) => {
    res.json(state.table.toJSON());
  });
  app.use(admin);
}

/**
 * REST forwarding (KServe /v2/…, TF Serving /v1/…) by `model-id` header or by the model name in
 * the path, to a REST endpoint of the model's cluster, with keepalive upstream connections.
 */
export function createRestApp(deps: RestAppDeps): express.Express {
  const { state, metrics, logger } = deps;
  const app = express();
  app.disable('x-powered-by');
  if (deps.admin) mountAdmin(app, state, deps.admin);

  const route = (req: Request, res: Response, next: NextFunction): void => {
    const path = req.path;
    if (!path.startsWith('/v1/') && !path.startsWith('/v2/') && path !== '/v1' && path !== '/v2') {
      next();
      return;
    }
    const header = req.headers['model-id'];
    const table = state.table;
    const modelId = typeof header === 'string' && header !== '' ? header : table.restPath.apply(path);
    if (modelId === undefined) {
      next(bgError('BG_MISSING_MODEL_ID'));
      return;
    }
    const r = table.apply(modelId);
    if (r === undefined) {
      next(bgError('BG_UNKNOWN_MODEL', { modelId, known: table.knownIds }));
      return;
    }
    const endpoint = r.cluster.pickRest();
    if (endpoint === undefined) {
      next(bgError('BG_NO_HEALTHY_ENDPOINT', { modelId }));
      return;
    }
    const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
    res.locals['gatewayTarget'] = { modelId, url: `http://${host}:${endpoint.port}` } satisfies Target;
    next();
  };

  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = createProxyMiddleware<Request, Response>({
    pathFilter: (_path, req) => (req.res ? targetOf(req.res as Response) !== undefined : false),
    router: (req) => (req.res ? (targetOf(req.res as Response)?.url ?? '') : ''),
    agent,
    xfwd: true,
    proxyTimeout: 0,
    on: {
      proxyRes: (proxyRes, _req, res) => {
        metrics.restRequests.inc({ model_id: targetOf(res)?.modelId ?? '', status: String(proxyRes.statusCode ?? 0) });
      },
      // a backend that cannot be reached: the same JSON error as every other gateway error
      error: (err, _req, res) => {
        if (!('locals' in res)) return;
        const target = targetOf(res as Response);
        logger.warn({ modelId: target?.modelId, target: target?.url, err: err.message }, 'REST upstream failed');
        const made = rescueHttp(res as Response, bgError('BG_UPSTREAM_UNAVAILABLE', { modelId: target?.modelId }, { cause: err }));
        metrics.gatewayError(target?.modelId ?? '', made.code);
        metrics.restRequests.inc({ model_id: target?.modelId ?? '', status: String(made.httpStatus) });
      },
    },
  });

  app.use(route, proxy);
  app.use((req: Request, _res: Response, next: NextFunction) => next(bgError('BG_NOT_FOUND', { method: req.method, path: req.path })));
  // the one HTTP boundary: registry errors as they are, proxy failures as BG_UPSTREAM_UNAVAILABLE
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const target = targetOf(res);
    const e = isBgError(err) || target === undefined ? err : bgError('BG_UPSTREAM_UNAVAILABLE', { modelId: target.modelId }, { cause: err });
    const made = rescueHttp(res, e);
    metrics.gatewayError(target?.modelId ?? '', made.code);
    if (target) metrics.restRequests.inc({ model_id: target.modelId, status: String(made.httpStatus) });
  });
  return app;
}
