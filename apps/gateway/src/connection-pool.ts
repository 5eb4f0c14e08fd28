import { readFileSync } from 'node:fs';
import { isIP, connect as netConnect } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { H2Connection, type LocalSettings } from './h2-connection';
import type { UpstreamTlsSpec } from './route-config';

// Pooled keepalive HTTP/2 connections to one endpoint. Large bodies are spread over several
// connections: a backend's connection-level flow-control window (64 KiB for grpc-js and most servers)
// caps what one connection carries per round trip, so a busy endpoint gets more connections.

export interface PoolOptions {
  /** Most connections to one endpoint. */
  readonly maxConnections: number;
  /** Open another connection once every connection carries this many streams (or is out of send window). */
  readonly streamsPerConnection: number;
  /** Our receive windows: per stream (SETTINGS_INITIAL_WINDOW_SIZE) and per connection. */
  readonly streamWindow: number;
  readonly connectionWindow: number;
  /** Largest frame we accept (SETTINGS_MAX_FRAME_SIZE). */
  readonly maxFrameSize: number;
  /** Bytes per socket-read arena (see socket-reads.ts); 0 = node's ordinary reads. Default ARENA_SIZE. */
  readonly readArena?: number;
  /** PING period; a connection whose PING is unanswered by the next one is dropped. 0 = off. */
  readonly keepaliveMs: number;
  readonly connectTimeoutMs: number;
  /** Largest response header block accepted (trailers with rich status details can be big). */
  readonly maxHeaderListSize: number;
}

export const DEFAULT_POOL_OPTIONS: PoolOptions = {
  maxConnections: 64,
  streamsPerConnection: 4,
  streamWindow: 4 * 1024 * 1024,
  connectionWindow: 32 * 1024 * 1024,
  maxFrameSize: 1024 * 1024,
  keepaliveMs: 30_000,
  connectTimeoutMs: 5000,
  maxHeaderListSize: 256 * 1024,
};

/** One connection and what the pool knows of it. */
export class PooledSession {
  connected = false;
  pingOutstanding = false;

  constructor(readonly conn: H2Connection) {}

  get active(): number {
    return this.conn.activeStreams;
  }

  get usable(): boolean {
    return this.conn.usable;
  }
}

function tlsOptions(tls: UpstreamTlsSpec): ConnectionOptions {
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
  private readonly settings: LocalSettings;
  private readonly tls: ConnectionOptions | undefined;
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Connections ever opened: exposed for metrics and tests. */
  opened = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly options: PoolOptions,
    tls?: UpstreamTlsSpec,
    private readonly onSessionError?: (err: Error) => void,
    /** Address to connect to when `host` is a name resolved beforehand; `host` still names the server for TLS. */
    private readonly connectAddress?: string,
  ) {
    const secure = tls ? tlsOptions(tls) : undefined;
    // certificates name the host, not the address dialled
    this.tls = secure && secure.servername === undefined && isIP(host) === 0 ? { ...secure, servername: host } : secure;
    this.settings = {
      maxConcurrentStreams: 100,
      initialWindowSize: options.streamWindow,
      connectionWindowSize: options.connectionWindow,
      maxFrameSize: options.maxFrameSize,
      maxHeaderListSize: options.maxHeaderListSize,
      ...(options.readArena === undefined ? {} : { readArena: options.readArena }),
    };
    if (options.keepaliveMs > 0) {
      this.keepaliveTimer = setInterval(() => this.keepalive(), options.keepaliveMs);
      this.keepaliveTimer.unref();
    }
  }

  get scheme(): 'http' | 'https' {
    return this.tls ? 'https' : 'http';
  }

  get size(): number {
    return this.entries.length;
  }

  /** The least-loaded usable connection, opening one when all carry `streamsPerConnection` streams. */
  acquire(): PooledSession {
    let best: PooledSession | undefined;
    const entries = this.entries;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as PooledSession;
      if (e.usable && (best === undefined || e.active < best.active)) best = e;
    }
    if (best === undefined || ((best.active >= this.options.streamsPerConnection || best.conn.congested) && entries.length < this.options.maxConnections)) {
      return this.open();
    }
    return best;
  }

  /** Opens one connection ahead of traffic so the first call finds it connected. */
  warm(): void {
    if (!this.closed && !this.entries.some((e) => e.usable)) this.open();
  }

  private open(): PooledSession {
    const socket = this.tls
      ? tlsConnect({ ...this.tls, host: this.connectAddress ?? this.host, port: this.port, ALPNProtocols: ['h2'] })
      : netConnect({ host: this.connectAddress ?? this.host, port: this.port });
    // idle keepalive connections must not hold the process open
    socket.unref();
    const entry: PooledSession = new PooledSession(
      new H2Connection(socket, 'client', this.settings, {
        onGoaway: (_conn, last, code) => {
          if (code !== 0) this.onSessionError?.(new Error(`GOAWAY from ${this.host}:${this.port} with HTTP/2 error ${code} after stream ${last}`));
        },
        onClose: (_conn, err) => {
          clearTimeout(connectTimer);
          const i = this.entries.indexOf(entry);
          if (i !== -1) this.entries.splice(i, 1);
          if (err) this.onSessionError?.(err);
        },
      }),
    );
    this.opened++;
    this.entries.push(entry);
    const connectTimer = setTimeout(() => {
      if (!entry.connected) entry.conn.destroy(new Error(`connect to ${this.host}:${this.port} timed out after ${this.options.connectTimeoutMs} ms`));
    }, this.options.connectTimeoutMs);
    connectTimer.unref();
    socket.once(this.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      entry.connected = true;
      if (this.tls && (socket as { alpnProtocol?: string | false }).alpnProtocol !== 'h2') {
        entry.conn.destroy(new Error(`${this.host}:${this.port} did not negotiate HTTP/2 (ALPN h2)`));
      }
    });
    // a retired pool still serves the retry that asked, then lets the connection go
    if (this.closed) setImmediate(() => entry.conn.close());
    return entry;
  }

  private keepalive(): void {
    for (const e of this.entries) {
      if (!e.connected || !e.usable) continue;
      if (e.pingOutstanding) {
        e.conn.destroy(new Error(`keepalive PING to ${this.host}:${this.port} unanswered`));
        continue;
      }
      e.pingOutstanding = true;
      e.conn.ping((err) => {
        e.pingOutstanding = false;
        if (err) e.conn.destroy(err);
      });
    }
  }

  /** GOAWAY every connection; streams in flight finish first. */
  close(): void {
    this.closed = true;
    if (this.keepaliveTimer) clearInterval(this.keepaliveTimer);
    for (const e of [...this.entries]) e.conn.close();
  }

  destroy(): void {
    this.close();
    for (const e of [...this.entries]) e.conn.destroy();
  }
}
