import net from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import type { DirectReadable, ReadTarget } from './storage';
import { bodyFraming, ChunkedDecoder, closesConnection, Http1ProtocolError, isToken, parseResponseHead, type BodyFraming } from './http1-head';

// A keep-alive HTTP/1.1 GET client whose response bodies can be read by the kernel straight into the
// caller's buffers: sockets use node's `onread` option, so there is no Buffer allocated per read, no
// HTTP parser call per read and no stream event per read. Measured on one core against node's http
// client copying each chunk into the same 1 MiB buffer, for 1 GiB in 64 MiB responses: 120–135 ms of
// CPU against 420–490 ms, and reads of up to the buffer's size instead of ~10 000 64 KiB ones.

export interface Http1AgentOptions {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port?: number;
  readonly maxSockets: number;
  /** A busy socket failing to send anything for this long fails its request (default 60 s). */
  readonly timeoutMs?: number;
  /** Idle keep-alive sockets are closed after this long (default 30 s). */
  readonly idleMs?: number;
  /** Extra TLS options for https (CA, client certificate). */
  readonly tls?: tls.ConnectionOptions;
}

export interface Http1Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ResponseBody;
}

const HEAD_BUFFER = 16 * 1024;
const MAX_HEAD = 64 * 1024;
const COPY_READ = 64 * 1024;
const BRIDGE_BUFFER = 16 * 1024;

/** Where delivered body bytes lie: see `ResponseBody.deliver`. */
type ByteSource = 'target' | 'fresh' | 'borrowed';

interface Pending {
  readonly head: string;
  readonly resolve: (r: Http1Response) => void;
  readonly reject: (err: Error) => void;
  /** Already retried once on a fresh connection after a reused one failed before answering. */
  retried: boolean;
}

/** One socket and the request on it, if any. */
class Connection {
  readonly socket: net.Socket;
  /** Holds response heads (and any body bytes read with them). */
  private headBuf = Buffer.allocUnsafe(HEAD_BUFFER);
  private headUsed = 0;
  /** Where the read after a paused head goes (the head buffer still holds the body's first bytes). */
  private bridge: Buffer | undefined;
  private mode: 'idle' | 'head' | 'held' | 'direct' | 'copy' = 'idle';
  /** What the buffer the next read goes to belongs to. */
  private givenTo: 'head' | 'target' | 'fresh' = 'head';
  private request: Pending | undefined;
  private body: ResponseBody | undefined;
  /** Requests this connection has carried, the current one included. */
  private uses = 0;
  private gotBytes = false;
  private closing = false;
  error: Error | undefined;

  constructor(
    private readonly agent: Http1Agent,
    opts: Http1AgentOptions,
    private readonly timeoutMs: number,
  ) {
    const port = opts.port ?? (opts.protocol === 'https:' ? 443 : 80);
    const onread = { buffer: () => this.nextBuffer(), callback: (n: number, buf: Buffer) => this.onRead(n, buf) };
    this.socket =
      opts.protocol === 'https:'
        ? // tls.connect documents `onread` (it applies when no `socket` is given); @types/node lacks it
          tls.connect({ host: opts.hostname, port, ...(net.isIP(opts.hostname) === 0 ? { servername: opts.hostname } : {}), ...opts.tls, onread } as tls.ConnectionOptions)
        : net.connect({ host: opts.hostname, port, onread });
    this.socket.setNoDelay(true);
    this.socket.on('error', (err) => (this.error ??= err));
    this.socket.on('timeout', () => {
      if (this.mode === 'idle') this.socket.destroy();
      else this.socket.destroy(new Error(`no data from ${opts.hostname} for ${this.timeoutMs} ms`));
    });
    this.socket.on('end', () => this.onEnd());
    this.socket.on('close', () => this.onClose());
  }

  get idle(): boolean {
    return this.mode === 'idle' && !this.closing && !this.socket.destroyed;
  }

  send(p: Pending): void {
    this.request = p;
    this.mode = 'head';
    this.headUsed = 0;
    this.gotBytes = false;
    this.uses++;
    this.socket.ref();
    this.socket.setTimeout(this.timeoutMs);
    this.socket.resume();
    this.socket.write(p.head, 'latin1');
  }

  // ---- reads: the buffer the next read lands in, then what arrived

  private nextBuffer(): Buffer {
    const body = this.body;
    if (this.mode === 'direct' && body !== undefined) {
      const space = body.target!.space();
      const left = body.remaining;
      this.givenTo = 'target';
      return left !== undefined && left < space.length ? space.subarray(0, left) : space;
    }
    if (this.mode === 'copy') {
      this.givenTo = 'fresh';
      return Buffer.allocUnsafeSlow(COPY_READ);
    }
    this.givenTo = 'head';
    // reading is paused until the body's reader comes; the first read after it lands here (copied)
    if (this.mode === 'held') return (this.bridge ??= Buffer.allocUnsafe(BRIDGE_BUFFER));
    // a head larger than the buffer: read on into a larger one (onHeadBytes stops past MAX_HEAD)
    if (this.headUsed === this.headBuf.length) this.growHead(this.headBuf.length * 2);
    return this.headBuf.subarray(this.headUsed);
  }

  private onRead(n: number, buf: Buffer): boolean {
    this.gotBytes = true;
    try {
      const data = buf.subarray(0, n);
      switch (this.mode) {
        case 'head':
          this.appendHead(data);
          return this.onHeadBytes();
        case 'direct':
        case 'copy':
          this.body!.deliver(data, this.givenTo === 'head' ? 'borrowed' : this.givenTo);
          // the body may have ended (idle now: reading on notices a close) or asked for a pause
          return this.body?.paused !== true;
        default:
          // nothing may arrive between responses, nor past a body: the framing is broken
          throw new Http1ProtocolError(this.mode === 'idle' ? 'data from the server with no request outstanding' : 'data while the body waited for its reader');
      }
    } catch (err) {
      this.socket.destroy(err as Error);
      return false;
    }
  }

  /** Adds a read to the head buffer; it is usually there already, unless the state moved between reads. */
  private appendHead(data: Buffer): void {
    if (data.buffer === this.headBuf.buffer && data.byteOffset === this.headBuf.byteOffset + this.headUsed) {
      this.headUsed += data.length;
      return;
    }
    if (this.headUsed + data.length > this.headBuf.length) this.growHead(Math.max(this.headBuf.length * 2, this.headUsed + data.length));
    data.copy(this.headBuf, this.headUsed);
    this.headUsed += data.length;
  }

  private growHead(size: number): void {
    const grown = Buffer.allocUnsafe(size);
    this.headBuf.copy(grown, 0, 0, this.headUsed);
    this.headBuf = grown;
  }

  private onHeadBytes(): boolean {
    for (;;) {
      const head = parseResponseHead(this.headBuf, this.headUsed);
      if ((head === undefined ? this.headUsed : head.length) > MAX_HEAD) throw new Http1ProtocolError(`response head over ${MAX_HEAD} bytes`);
      if (head === undefined) return true;
      if (head.status >= 100 && head.status < 200) {
        // interim responses (100 Continue, 103 Early Hints): drop and read on
        this.headBuf.copy(this.headBuf, 0, head.length, this.headUsed);
        this.headUsed -= head.length;
        continue;
      }
      const framing = bodyFraming(head);
      const body = new ResponseBody(this, framing, closesConnection(head, framing));
      this.body = body;
      this.mode = 'held';
      const leftover = this.headBuf.subarray(head.length, this.headUsed);
      body.setLeftover(leftover);
      const request = this.request!;
      this.request = undefined;
      request.resolve({ status: head.status, headers: head.headers, body });
      // the head buffer keeps the leftover until the consumer takes it; reading resumes then. A body
      // that was empty has ended already: the connection is idle, and reads on to notice a close.
      return this.mode !== 'held';
    }
  }

  /** The consumer took the body: reading resumes into its target (direct) or fresh buffers (copy). */
  startBody(mode: 'direct' | 'copy'): void {
    this.mode = mode;
    this.headUsed = 0;
    if (!this.socket.destroyed) this.socket.resume();
  }

  /** The body ended: the socket goes back to the agent, or is closed. */
  bodyDone(close: boolean): void {
    this.body = undefined;
    this.mode = 'idle';
    this.headUsed = 0;
    if (close || this.closing) {
      this.socket.destroy();
      return;
    }
    // an idle keep-alive socket does not keep the process alive (as with node's http.Agent)
    this.socket.unref();
    this.socket.setTimeout(this.agent.idleMs);
    this.socket.resume();
    this.agent.release(this);
  }

  abort(err?: Error): void {
    this.socket.destroy(err);
  }

  pauseBody(): void {
    this.socket.pause();
  }

  resumeBody(): void {
    if (!this.socket.destroyed) this.socket.resume();
  }

  private onEnd(): void {
    // a body delimited by the connection's close ends here; anything else in flight fails in onClose
    if (this.body?.framing.kind === 'close' && (this.mode === 'direct' || this.mode === 'copy' || this.mode === 'held')) {
      this.closing = true;
      this.body.endOfStream();
    }
  }

  private onClose(): void {
    this.closing = true;
    this.agent.forget(this);
    const request = this.request;
    this.request = undefined;
    if (request !== undefined) {
      // a reused keep-alive socket the server closed as we sent: try once more on a fresh one
      if (!this.gotBytes && this.uses > 1 && !request.retried) {
        request.retried = true;
        this.agent.enqueue(request, true);
      } else {
        request.reject(this.error ?? new Error('the server closed the connection before answering'));
      }
    }
    const body = this.body;
    this.body = undefined;
    body?.connectionLost(this.error);
  }
}

/**
 * A response body: a Readable (copies of each read) or, through `readInto`, bytes read straight into
 * the caller's buffers. Either, not both. Destroying it before its end closes the connection.
 */
export class ResponseBody extends Readable implements DirectReadable {
  private leftover: Buffer | undefined;
  private decoder: ChunkedDecoder | undefined;
  private received = 0;
  private started: 'stream' | 'target' | undefined;
  private ended = false;
  private finished = false;
  /** The connection failed before anyone read the body. */
  private failure: Error | undefined;
  target: ReadTarget | undefined;
  private settle: { resolve: (n: number) => void; reject: (err: Error) => void } | undefined;
  paused = false;

  constructor(
    private readonly conn: Connection,
    readonly framing: BodyFraming,
    private readonly closeAfter: boolean,
  ) {
    super();
    if (framing.kind === 'chunked') this.decoder = new ChunkedDecoder();
  }

  /** Bytes still to come in a length-delimited body. */
  get remaining(): number | undefined {
    return this.framing.kind === 'length' ? this.framing.length - this.received : undefined;
  }

  /** The body's length when the response declares it. */
  get length(): number | undefined {
    return this.framing.kind === 'length' ? this.framing.length : undefined;
  }

  setLeftover(bytes: Buffer): void {
    this.leftover = bytes;
    // an empty body needs no reads: the connection is free at once (a body that came whole with the
    // head still holds it, in the head buffer, until its reader takes the bytes)
    if (this.remaining === 0 && bytes.length === 0) {
      this.ended = true;
      this.conn.bodyDone(this.closeAfter);
    }
  }

  /** Reads the whole body into `target`; resolves with its length. */
  readInto(target: ReadTarget): Promise<number> {
    if (this.started !== undefined) return Promise.reject(new Error('the body is already being read'));
    this.started = 'target';
    this.target = target;
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<number>((resolve, reject) => {
      this.settle = { resolve, reject };
      // chunked framing interleaves sizes with the bytes: decoded from fresh buffers, then copied
      this.begin(this.framing.kind === 'chunked' ? 'copy' : 'direct');
    });
  }

  /** The body as text, up to `limit` characters kept (the rest is read and dropped). */
  async text(limit: number): Promise<string> {
    let text = '';
    for await (const chunk of this) {
      if (text.length < limit) text += (chunk as Buffer).toString('utf8');
    }
    return text.slice(0, limit);
  }

  override _read(): void {
    if (this.started === 'target') return;
    if (this.started === undefined) {
      this.started = 'stream';
      if (this.failure !== undefined) this.destroy(this.failure);
      else this.begin('copy');
      return;
    }
    // (a body that ended has handed its connection on: it must not resume it)
    if (this.paused && !this.ended) {
      this.paused = false;
      this.conn.resumeBody();
    }
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.ended) {
      this.ended = true;
      this.conn.abort();
    }
    cb(err);
  }

  /** The reader came: the bytes read with the head first, then the connection reads on (unless that was all). */
  private begin(mode: 'direct' | 'copy'): void {
    const leftover = this.leftover;
    this.leftover = undefined;
    try {
      if (leftover !== undefined && leftover.length > 0) this.deliver(leftover, 'borrowed');
    } catch (err) {
      this.conn.abort(err as Error);
      return;
    }
    if (this.ended) this.finish();
    else this.conn.startBody(mode);
  }

  /**
   * Bytes of the body: read into the target's space already, in a buffer of their own (`fresh`), or in
   * the connection's head buffer, which the next response reuses (`borrowed`: copied before kept).
   */
  deliver(data: Buffer, source: ByteSource): void {
    if (this.ended) throw new Http1ProtocolError('data past the end of the response body');
    if (this.decoder !== undefined) {
      const used = this.decoder.feed(data, (payload) => this.emitPayload(payload, source === 'target' ? 'borrowed' : source));
      if (this.decoder.done) {
        if (used !== data.length) throw new Http1ProtocolError('data past the end of the chunked body');
        this.complete();
      }
      return;
    }
    const left = this.remaining;
    if (left !== undefined && data.length > left) throw new Http1ProtocolError(`the server sent more than the ${this.length} bytes it declared`);
    this.emitPayload(data, source);
    if (this.remaining === 0) this.complete();
  }

  private emitPayload(payload: Buffer, source: ByteSource): void {
    this.received += payload.length;
    if (this.started === 'target') {
      if (source === 'target') this.target!.commit(payload);
      else this.target!.push(payload);
    } else if (!this.push(source === 'borrowed' ? Buffer.from(payload) : payload)) {
      this.paused = true;
      this.conn.pauseBody();
    }
  }

  private complete(): void {
    this.ended = true;
    this.conn.bodyDone(this.closeAfter);
    this.finish();
  }

  /** Hands the end to the reader, once; the reader may come after the end (`ended`). */
  private finish(): void {
    if (this.finished || this.started === undefined) return;
    this.finished = true;
    if (this.started === 'target') {
      const settle = this.settle;
      this.settle = undefined;
      settle?.resolve(this.framing.kind === 'length' ? this.framing.length : this.received);
    } else {
      this.push(null);
    }
  }

  /** A body delimited by the connection's close got its EOF. */
  endOfStream(): void {
    if (this.ended) return;
    this.ended = true;
    this.finish();
  }

  /** The connection closed: a body not yet complete fails. */
  connectionLost(err: Error | undefined): void {
    if (this.ended && this.settle === undefined) return;
    const length = this.length;
    const failure = err ?? new Error(`the connection closed after ${this.received}${length !== undefined ? ` of ${length}` : ''} bytes of the body`);
    this.ended = true;
    const settle = this.settle;
    this.settle = undefined;
    if (settle !== undefined) settle.reject(failure);
    else if (this.started === 'stream') this.destroy(failure);
    // no reader yet: the failure waits for one (an 'error' now would have no listener)
    else if (this.started === undefined) this.failure = failure;
  }
}

/** Keep-alive sockets to one host, at most `maxSockets`, requests queued in order beyond that. */
export class Http1Agent {
  private readonly idleConns: Connection[] = [];
  private readonly all = new Set<Connection>();
  private readonly queue: Pending[] = [];
  private readonly timeoutMs: number;
  readonly idleMs: number;
  private closed = false;

  private readonly hostHeader: string;

  constructor(private readonly opts: Http1AgentOptions) {
    this.timeoutMs = opts.timeoutMs ?? 60000;
    this.idleMs = opts.idleMs ?? 30000;
    const host = net.isIPv6(opts.hostname) ? `[${opts.hostname}]` : opts.hostname;
    this.hostHeader = opts.port === undefined ? host : `${host}:${opts.port}`;
  }

  /** Sends a GET; resolves once the response head is in, the body not yet read. */
  get(path: string, headers: Readonly<Record<string, string>>): Promise<Http1Response> {
    let head = `GET ${path} HTTP/1.1\r\n`;
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'host')) head += `host: ${this.hostHeader}\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (!isToken(name) || /[\0\r\n]/.test(value)) {
        return Promise.reject(new TypeError(`invalid header ${JSON.stringify(name)}`));
      }
      head += `${name}: ${value}\r\n`;
    }
    if (/[\0-\x20\x7f]/.test(path)) return Promise.reject(new TypeError('invalid request path'));
    head += '\r\n';
    return new Promise<Http1Response>((resolve, reject) => this.enqueue({ head, resolve, reject, retried: false }, false));
  }

  /** Queues a request, or sends it on an idle socket or a new one (`fresh`: never a reused one). */
  enqueue(p: Pending, fresh: boolean): void {
    if (this.closed) {
      p.reject(new Error('the HTTP agent is closed'));
      return;
    }
    if (!fresh) {
      let conn: Connection | undefined;
      while ((conn = this.idleConns.pop()) !== undefined) {
        if (conn.idle) {
          conn.send(p);
          return;
        }
      }
    }
    if (this.all.size < this.opts.maxSockets || fresh) {
      const conn = new Connection(this, this.opts, this.timeoutMs);
      this.all.add(conn);
      conn.send(p);
      return;
    }
    this.queue.push(p);
  }

  /** A socket finished its response and can take the next request. */
  release(conn: Connection): void {
    const next = this.queue.shift();
    if (next !== undefined) conn.send(next);
    else this.idleConns.push(conn);
  }

  /** A socket closed: forget it, and open another for a queued request. */
  forget(conn: Connection): void {
    this.all.delete(conn);
    const i = this.idleConns.indexOf(conn);
    if (i !== -1) this.idleConns.splice(i, 1);
    const next = this.queue.shift();
    if (next !== undefined) this.enqueue(next, false);
  }

  close(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new Error('the HTTP agent is closed'));
    for (const conn of this.all) conn.abort();
  }
}
