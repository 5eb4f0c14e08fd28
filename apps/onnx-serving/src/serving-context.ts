import type { ModelManager } from '@bundlegate/model-runtime';
import { requestId, toBgError, type HealthState, type Logger } from '@bundlegate/service-kit';
import pkg from '../package.json';
import type { Api, Interface, ServingMetrics } from './serving-metrics';

// What every protocol handler shares, and the one wrapper that counts, times and logs a model request.

export const SERVER_NAME = 'onnx-serving';
export const SERVER_VERSION: string = pkg.version;
/** KServe `platform` of every model served here (Triton's name for ONNX Runtime models). */
export const PLATFORM = 'onnxruntime_onnx';

export interface ServingContext {
  readonly manager: ModelManager;
  readonly health: HealthState;
  readonly metrics: ServingMetrics;
  readonly logger: Logger;
}

export interface ModelCall {
  readonly api: Api;
  readonly interface: Interface;
  readonly method: string;
  readonly model: string;
  /** As the client wrote it; empty for "the server picks". */
  readonly version: string;
  /** Counts toward ovms_current_requests (inference calls). */
  readonly inference?: boolean;
  /** The caller's `x-request-id` (header or metadata), logged with a failure; one is made up when absent. */
  readonly requestId?: string;
}

/** Lets a call say which version it pinned, for the version label and the in-flight gauge. */
export interface CallTracker {
  pinned(version: number): void;
}

/**
 * Runs one model-scoped call: OVMS metrics (for configured models only, so made-up names cannot grow the
 * label set), the in-flight gauge, and a log line for failures — debug for client mistakes, error for ours.
 */
export async function observeModelCall<T>(ctx: ServingContext, call: ModelCall, work: (tracker: CallTracker) => Promise<T> | T): Promise<T> {
  const started = process.hrtime.bigint();
  const known = ctx.manager.has(call.model);
  let pinned: string | undefined;
  const tracker: CallTracker = {
    pinned(version) {
      if (pinned !== undefined) return;
      pinned = String(version);
      if (known && call.inference) ctx.metrics.current(call.model, pinned, 1);
    },
  };
  let ok = false;
  try {
    const result = await work(tracker);
    ok = true;
    return result;
  } catch (err) {
    const e = toBgError(err);
    const fields = { reqId: requestId(call.requestId), api: call.api, interface: call.interface, method: call.method, model: call.model, version: call.version, code: e.code };
    // a model still loading (or unloading) is a state readiness probes ask about, not a server fault
    if (e.httpStatus >= 500 && e.code !== 'BG_MODEL_NOT_READY') ctx.logger.error({ ...fields, err: e.cause ?? e }, e.message);
    else ctx.logger.debug(fields, e.message);
    throw e;
  } finally {
    if (known) {
      if (call.inference && pinned !== undefined) ctx.metrics.current(call.model, pinned, -1);
      // a call that failed before pinning a version counts under the one it asked for when that exists (made-up
      // versions must not become label values), else under the default one
      const available = ctx.manager.availableVersions(call.model).map(String);
      const version = pinned ?? (available.includes(call.version) ? call.version : (available[0] ?? ''));
      const us = Number((process.hrtime.bigint() - started) / 1000n);
      ctx.metrics.request({ api: call.api, interface: call.interface, method: call.method, name: call.model, version }, ok, us);
    }
  }
}
