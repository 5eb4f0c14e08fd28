import * as http2 from 'node:http2';
import type { ClientHttp2Session, SecureClientSessionOptions } from 'node:http2';
import { readFileSync } from 'node:fs';
import type { UpstreamTlsSpec } from './route-config';

// Pooled keepalive HTTP/2 client sessions to one endpoint. Large bodies are spread over several
// sessions: a backend's connection-level flow-control window (64 KiB for grpc-js and most servers)
// caps what one connection carries per round trip, so a busy endpoint gets more connections.

export interface PoolOptions {
  /** Most sessions to one endpoint. */
  readonly maxConnections: number;
  /** Open another session once every session carries this many streams. */
  readonly streamsPerConnection: number;
  /** Our receive windows: per stream (SETTINGS_INITIAL_WINDOW_SIZE) and per connection. */
  readonly streamWindow: number;
  readonly connectionWindow: number;
  /** Largest frame we accept (SETTINGS_MAX_FRAME_SIZE). */
  readonly maxFrameSize: number;
  /** PING period on idle-or-busy sessions; a session whose PING is unanswered by the next one is dropped. 0 = off. */
  readonly keepaliveMs: number;
  readonly connectTimeoutMs: number;
  /** nghttp2 session memory cap, MB (node's default 10 MB is too small for many 600 KB bodies in flight). */
  readonly maxSessionMemoryMb: number;
}

export const DEFAULT_POOL_OPTIONS: PoolOptions = {
  maxConnections: 16,
  streamsPerConnection: 4,
  streamWindow: 4 * 1024 * 1024,
  connectionWindow: 32 * 1024 * 1024,
  maxFrameSize: 1024 * 1024,
  keepaliveMs: 30_000,
  connectTimeoutMs: 5000,
  maxSessionMemoryMb: 256,
};

/** One session and how many streams it carries now; callers bump and drop `active`. */
export class PooledSession {
  active = 0;
  connected = false;
  /** GOAWAY received or closing: finish what runs on it, start nothing new. */
  draining = false;
  pingOutstanding = false;

  constructor(readonly session: ClientHttp2Session) {}

  get usable(): boolean {
    return !this.draining && !this.session.closed && !this.session.destroyed;
  }
}

function tlsOptions(tls: UpstreamTlsSpec): SecureClientSessionOptions {
  return {
    ca: tls.ca === undefined ? undefined : readFileSync(tls.ca),
    cert: tls.cert === undefined ? undefined : readFileSync(tls.cert),
    key: tls.key === undefined ? undefined : readFileSync(tls.key),
    servername: tls.serverName,
    rejectUnauthorized: !tls.insecureSkipVerify,
  };
}

export class ConnectionPool {
  private readonly entries: PooledSession[] = [];
  private readonly origin: string;
  private readonly connectOptions: SecureClientSessionOptions;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Sessions ever opened: exposed for metrics and tests. */
  opened = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly options: PoolOptions,
    tls?: UpstreamTlsSpec,
    private readonly onSessionError?: (err: Error) => void,
  ) {
    const authority = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.origin = `${tls ? 'https' : 'http'}://${authority}`;
    this.connectOptions = {
      ...(tls ? tlsOptions(tls) : {}),
      settings: {
        enablePush: false,
        initialWindowSize: options.streamWindow,
        maxFrameSize: options.maxFrameSize,
      },
      maxSessionMemory: options.maxSessionMemoryMb,
      peerMaxConcurrentStreams: 1000,
    };
    if (options.keepaliveMs > 0) {
      this.keepaliveTimer = setInterval(() => this.keepalive(), options.keepaliveMs);
      this.keepaliveTimer.unref();
    }
  }

  get scheme(): 'http' | 'https' {
    return this.origin.startsWith('https') ? 'https' : 'http';
  }

  get size(): number {
    return this.entries.length;
  }

  /** The least-loaded usable session, opening one when all carry `streamsPerConnection` streams. */
  acquire(): PooledSession {
    let best: PooledSession | undefined;
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as PooledSession;
      if (e.usable && (best === undefined || e.active < best.active)) best = e;
    }
    if (best === undefined || (best.active >= this.options.streamsPerConnection && entries.length < this.options.maxConnections)) {
      return this.open();
    }
    return best;
  }

  /** Opens one session ahead of traffic so the first call finds a connected one. */
  warm(): void {
    if (!this.closed && !this.entries.some((e) => e.usable)) this.open();
  }

  private open(): PooledSession {
    const session = http2.connect(this.origin, this.connectOptions);
    const entry = new PooledSession(session);
    this.opened++;
    this.entries.push(entry);
    // a retired pool still serves the retry that asked, then lets the session go
    if (this.closed) setImmediate(() => session.close());
    const connectTimer = setTimeout(() => {
      if (!entry.connected) session.destroy(new Error(`connect to ${this.origin} timed out after ${this.options.connectTimeoutMs} ms`));
    }, this.options.connectTimeoutMs);
    connectTimer.unref();
    session.once('connect', () => {
      clearTimeout(connectTimer);
      entry.connected = true;
      session.setLocalWindowSize(this.options.connectionWindow);
    });
    session.on('goaway', () => {
      entry.draining = true;
    });
    session.on('error', (err: Error) => {
      this.onSessionError?.(err);
    });
    session.once('close', () => {
      clearTimeout(connectTimer);
      entry.draining = true;
      const i = this.entries.indexOf(entry);
      if (i !== -1) this.entries.splice(i, 1);
    });
    // idle keepalive sessions must not hold the process open
    session.unref();
    return entry;
  }

  private keepalive(): void {
    for (const e of this.entries) {
      if (!e.connected || !e.usable) continue;
      if (e.pingOutstanding) {
        e.session.destroy(new Error(`keepalive PING to ${this.origin} unanswered`));
        continue;
      }
      e.pingOutstanding = true;
      e.session.ping((err) => {
        e.pingOutstanding = false;
        if (err && !e.session.destroyed) e.session.destroy(err);
      });
    }
  }

  /** GOAWAY every session; streams in flight finish first. */
  close(): void {
    this.closed = true;
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    for (const e of [...this.entries]) {
      e.draining = true;
      if (!e.session.closed) e.session.close();
    }
  }

  destroy(): void {
    this.close();
    for (const e of [...this.entries]) e.session.destroy();
  }
}
