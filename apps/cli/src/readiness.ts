import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

// Readiness by polling real endpoints until a deadline: a service is up when it says so, not after a sleep.

export interface ProbeResult {
  readonly ready: boolean;
  /** What was seen: "HTTP 200", "HTTP 503", "connect ECONNREFUSED 127.0.0.1:8001". */
  readonly detail: string;
}

export interface Probe {
  /** What is checked, for messages: "GET http://127.0.0.1:8001/v2/models/m/ready". */
  readonly description: string;
  check(): Promise<ProbeResult>;
}

/** Ready when `GET url` answers 200. Each attempt uses a fresh connection, so nothing lingers. */
export function httpProbe(url: string, timeoutMs = 2_000): Probe {
  return {
    description: `GET ${url}`,
    check: () =>
      new Promise<ProbeResult>((resolve) => {
        const req = request(url, { method: 'GET', agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
          res.resume();
          const status = res.statusCode ?? 0;
          resolve({ ready: status === 200, detail: `HTTP ${status}` });
        });
        req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        req.once('error', (error) => resolve({ ready: false, detail: error.message }));
        req.end();
      }),
  };
}

export class ReadinessTimeoutError extends Error {
  override readonly name = 'ReadinessTimeoutError';

  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    /** Each probe that was not ready at the deadline, with what it last saw. */
    readonly pending: readonly { probe: string; detail: string }[],
  ) {
    super(`${what} not ready after ${timeoutMs / 1000} s: ${pending.map((p) => `${p.probe} → ${p.detail}`).join('; ')}`);
  }
}

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Pause between rounds (default 250 ms). */
  readonly intervalMs?: number;
  /** Stops waiting early (Ctrl-C, the process being waited for died); rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/**
 * Polls every probe until all are ready (a probe once ready is not asked again). Rejects with
 * ReadinessTimeoutError at the deadline, or with the abort reason when `signal` fires.
 */
export async function waitUntilReady(what: string, probes: readonly Probe[], options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 250;
  const last = new Map<Probe, string>(probes.map((p) => [p, 'not checked yet']));
  for (;;) {
    options.signal?.throwIfAborted();
    const pending = [...last.keys()];
    const results = await Promise.all(pending.map((p) => p.check()));
    pending.forEach((probe, i) => {
      const result = results[i] as ProbeResult;
      if (result.ready) last.delete(probe);
      else last.set(probe, result.detail);
    });
    options.signal?.throwIfAborted();
    if (last.size === 0) return;
    if (Date.now() >= deadline) {
      throw new ReadinessTimeoutError(
        what,
        options.timeoutMs,
        [...last].map(([probe, detail]) => ({ probe: probe.description, detail })),
      );
    }
    try {
      await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), undefined, { signal: options.signal });
    } catch {
      options.signal?.throwIfAborted();
    }
  }
}
