import type { IncomingMessage, ServerResponse } from 'node:http';
import { bgError, toHttpError } from './errors';
import type { HealthState } from './health';
import type { Metrics } from './metrics';

export interface AdminHandlerOptions {
  readonly health: HealthState;
  /** Serves /metrics when given. */
  readonly metrics?: Metrics;
}

/**
 * A `node:http` request listener that is also express middleware: `http.createServer(handler)` or
 * `app.use(handler)`. Paths it does not serve go to `next()` when there is one, else get a 404.
 */
export type AdminHandler = (req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void;

export const ADMIN_PATHS = { live: '/healthz', ready: '/readyz', metrics: '/metrics' } as const;

const ALLOWED = ['GET', 'HEAD'];

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.statusCode = status;
  res.setHeader('content-type', contentType);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('content-length', Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

/** Write a registry error as `{"error": {...}}` with its HTTP status (for plain node:http servers). */
export function sendHttpError(res: ServerResponse, err: unknown, head = false): void {
  const { status, body } = toHttpError(err);
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(body), head);
}

/** `/healthz` (live), `/readyz` (ready, with reasons) and `/metrics` (Prometheus text). */
export function createAdminHandler(options: AdminHandlerOptions): AdminHandler {
  const { health, metrics } = options;
  return (req, res, next) => {
    const path = (req.url ?? '/').split('?', 1)[0] as string;
    const served = path === ADMIN_PATHS.live || path === ADMIN_PATHS.ready || (metrics !== undefined && path === ADMIN_PATHS.metrics);
    if (!served) {
      if (next) return next();
      return sendHttpError(res, bgError('BG_NOT_FOUND', { method: req.method, path }));
    }
    const method = req.method ?? 'GET';
    const head = method === 'HEAD';
    if (!ALLOWED.includes(method)) {
      res.setHeader('allow', ALLOWED.join(', '));
      return sendHttpError(res, bgError('BG_METHOD_NOT_ALLOWED', { method, path, allowed: ALLOWED }));
    }
    if (path === ADMIN_PATHS.live) {
      const snap = health.snapshot();
      const body = snap.live ? { live: true } : { live: false, reason: snap.reason };
      return send(res, snap.live ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(body), head);
    }
    if (path === ADMIN_PATHS.ready) {
      const snap = health.snapshot();
      return send(res, snap.ready ? 200 : 503, 'application/json; charset=utf-8', JSON.stringify(snap), head);
    }
    (metrics as Metrics).scrape().then(
      ({ contentType, body }) => send(res, 200, contentType, body, head),
      (err: unknown) => sendHttpError(res, err, head),
    );
  };
}
