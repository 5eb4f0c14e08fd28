import type { Socket } from 'node:net';
import { HpackDecoder, HpackEncoder, HpackError, type HeaderList } from './hpack';
import { HuffmanError } from './hpack-huffman';
import { readIntoArenas } from './socket-reads';

// The gateway's HTTP/2 framing layer (RFC 9113) over a net or TLS socket, for both sides of the
// proxy. Why not node:http2: its nghttp2 binding costs one JS stream object, an AsyncResource and a
// writev syscall per 16 KiB DATA frame; here a socket read is parsed in one pass, DATA payloads are
// forwarded as views of the read buffer, and all frames a read produces leave in one writev.

export const FRAME = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
const FLAG_END_STREAM = 0x1;
const FLAG_ACK = 0x1;
const FLAG_END_HEADERS = 0x4;
const FLAG_PADDED = 0x8;
const FLAG_PRIORITY = 0x20;

export const H2_ERROR = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;
/** onReset code when the connection itself went away (no RST_STREAM was received). */
export const CONNECTION_LOST = -1;

const SETTING = { HEADER_TABLE_SIZE: 1, ENABLE_PUSH: 2, MAX_CONCURRENT_STREAMS: 3, INITIAL_WINDOW_SIZE: 4, MAX_FRAME_SIZE: 5, MAX_HEADER_LIST_SIZE: 6 } as const;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const DEFAULT_WINDOW = 65_535;
const MAX_WINDOW = 2 ** 31 - 1;
const MAX_HEADER_BLOCK = 256 * 1024;
/** Peer-initiated stream resets tolerated per second before the connection is closed (rapid-reset abuse). */
const MAX_RESETS_PER_SECOND = 2000;
const SLAB_SIZE = 16 * 1024;
/** Payloads up to this size are copied next to their frame header; larger ones go out by reference. */
const COPY_LIMIT = 1024;

export interface LocalSettings {
  readonly maxConcurrentStreams: number;
  /** Our per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly initialWindowSize: number;
  /** Our connection receive window. */
  readonly connectionWindowSize: number;
  readonly maxFrameSize: number;
  readonly maxHeaderListSize: number;
  /** Not a SETTING: bytes per socket-read arena (socket-reads.ts); 0 = node's ordinary reads. */
  readonly readArena?: number;
}

/** What a stream's owner hears about it. */
export interface StreamHandler {
  onHeaders(stream: H2Stream, headers: HeaderList, endStream: boolean): void;
  onData(stream: H2Stream, data: Buffer, endStream: boolean): void;
  /** Reset by the peer (its code), or CONNECTION_LOST; the stream is closed afterwards. */
  onReset(stream: H2Stream, code: number): void;
}

export interface ConnectionEvents {
  /** Server side: a client opened a stream with these request headers. */
  onStream?(stream: H2Stream, headers: HeaderList, endStream: boolean): void;
  onGoaway?(conn: H2Connection, lastStreamId: number, code: number): void;
  onClose?(conn: H2Connection, error: Error | undefined): void;
}

class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Connections with frames waiting: written together once the current socket read is handled (one writev each). */
let dirty: H2Connection[] = [];
let flushScheduled = false;
function flushAll(): void {
  flushScheduled = false;
  const list = dirty;
  dirty = [];
  for (const c of list) {
    c.queued = false;
    c.flush();
  }
}

export class H2Stream {
  handler: StreamHandler | undefined;
  sendWindow: number;
  /** Receive credit still granted to the peer on this stream. */
  recvWindow: number;
  private unacked = 0;
  localEnded = false;
  remoteEnded = false;
  closed = false;
  /** Where flow-control credit goes when this stream's queued data leaves: the stream it came from. */
  creditTo: H2Stream | undefined;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes at the head of `pending` that earn no credit (replayed on a retry, credited the first time). */
  private pendingNoCredit = 0;
  private pendingEnd = false;
  private pendingTrailers: { fields: readonly string[]; neverIndexed: readonly string[] | undefined } | undefined;
  constructor(
    readonly conn: H2Connection,
    readonly id: number,
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  get queuedBytes(): number {
    return this.pendingBytes;
  }

  sendHeaders(fields: readonly string[], neverIndexed: readonly string[] | undefined, endStream: boolean): void {
    if (this.closed || this.localEnded) return;
    this.conn.writeHeaders(this.id, fields, neverIndexed, endStream);
    if (endStream) this.endLocal();
  }

  /** Sends (or queues, when flow control says wait) a body chunk. `credited` false: its bytes earn the source no credit. */
  sendData(data: Buffer, endStream: boolean, credited = true): void {
    if (this.closed || this.localEnded || this.pendingEnd) return;
    if (data.length > 0) {
      this.pending.push(data);
      this.pendingBytes += data.length;
      this.conn.queuedBytes += data.length;
      if (!credited) this.pendingNoCredit += data.length;
    }
    if (endStream) this.pendingEnd = true;
    // framed when the connection flushes: the pieces of one socket read leave as full-size frames
    this.conn.markPending(this);
  }

  /** Trailers with END_STREAM, after any queued data. */
  sendTrailers(fields: readonly string[], neverIndexed: readonly string[] | undefined): void {
    if (this.closed || this.localEnded || this.pendingEnd) return;
    this.pendingTrailers = { fields, neverIndexed };
    this.pendingEnd = true;
    this.flushPending();
  }

  /** Moves queued data out as far as both windows allow. */
  flushPending(): void {
    const conn = this.conn;
    while (this.pendingBytes > 0 && this.sendWindow > 0 && conn.sendWindow > 0 && !this.closed) {
      const n = Math.min(this.pendingBytes, this.sendWindow, conn.sendWindow, conn.peerMaxFrameSize);
      this.pendingBytes -= n;
      conn.queuedBytes -= n;
      this.sendWindow -= n;
      conn.sendWindow -= n;
      const last = this.pendingBytes === 0 && this.pendingEnd && this.pendingTrailers === undefined;
      // one frame from as many queued chunks as it takes: their bytes go out by reference, not copied
      conn.writeDataHeader(this.id, n, last);
      let left = n;
      while (left > 0) {
        const head = this.pending[0] as Buffer;
        if (head.length <= left) {
          this.pending.shift();
          conn.appendPayload(head);
          left -= head.length;
        } else {
          conn.appendPayload(head.subarray(0, left));
          this.pending[0] = head.subarray(left);
          left = 0;
        }
      }
      const free = Math.min(this.pendingNoCredit, n);
      this.pendingNoCredit -= free;
      if (n > free && this.creditTo !== undefined) this.creditTo.consumed(n - free);
      if (last) {
        this.endLocal();
        return;
      }
    }
    if (this.pendingBytes > 0) {
      if (!this.closed) conn.blocked.add(this);
      return;
    }
    if (this.pendingEnd && !this.localEnded && !this.closed) {
      const t = this.pendingTrailers;
      if (t !== undefined) conn.writeHeaders(this.id, t.fields, t.neverIndexed, true);
      else conn.writeData(this.id, Buffer.alloc(0), true);
      this.endLocal();
    }
  }

  /** Returns credit for `n` received bytes that left the gateway (or were dropped). */
  consumed(n: number): void {
    if (n <= 0) return;
    this.conn.consumedConnection(n);
    if (this.closed || this.remoteEnded) return;
    this.unacked += n;
    if (this.unacked >= this.conn.streamUpdateThreshold) {
      this.recvWindow += this.unacked;
      this.conn.writeWindowUpdate(this.id, this.unacked);
      this.unacked = 0;
    }
  }

  /** Drops queued data (a retry abandons this stream); returns the bytes that still owed their source credit. */
  dropPending(): number {
    const owed = this.pendingBytes - this.pendingNoCredit;
    this.conn.queuedBytes -= this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingNoCredit = 0;
    return owed;
  }

  reset(code: number): void {
    if (this.closed) return;
    // both sides already ended: the stream is closed, and a RST_STREAM now would be a protocol violation
    if (!(this.localEnded && this.remoteEnded)) this.conn.writeRstStream(this.id, code);
    this.conn.closeStream(this);
  }

  /** Waiting in its connection's list of streams to frame at the next flush. */
  inReady = false;

  private endLocal(): void {
    this.localEnded = true;
    this.pendingTrailers = undefined;
    if (this.remoteEnded) this.conn.closeStream(this);
  }
}

export class H2Connection {
  readonly streams = new Map<number, H2Stream>();
  /** Streams waiting for connection-level send window. */
  readonly blocked = new Set<H2Stream>();
  private readonly decoder: HpackDecoder;
  private readonly encoder = new HpackEncoder();
  sendWindow = DEFAULT_WINDOW;
  peerMaxFrameSize = 16_384;
  peerMaxConcurrentStreams = 2 ** 31 - 1;
  private peerInitialWindow = DEFAULT_WINDOW;
  private recvUnacked = 0;
  /** Connection-level receive credit the peer still has: a peer that overruns it is cut off. */
  private recvWindow: number;
  readonly streamUpdateThreshold: number;
  /** A peer may send 65,535 bytes per stream before it has seen our SETTINGS, whatever they say. */
  private readonly initialRecvWindow: number;
  private readonly connectionUpdateThreshold: number;
  private nextStreamId = 1;
  lastPeerStreamId = 0;
  goawayReceived = false;
  goawaySent = false;
  closed = false;
  private prefaceSeen: boolean;
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private need = 0;
  private continuation: { id: number; endStream: boolean; fragments: Buffer[]; size: number } | undefined;
  /** A DATA frame whose payload is still arriving: its stream, flags and the bytes to come. */
  private dataId = 0;
  private dataFlags = 0;
  private dataLeft = 0;
  private slab = Buffer.allocUnsafe(SLAB_SIZE);
  private slabPos = 0;
  private slabStart = 0;
  private out: Buffer[] = [];
  private outBytes = 0;
  private pingCallbacks: ((err?: Error) => void)[] = [];
  /** In the list of connections to flush. */
  queued = false;
  /** Streams with data queued since the last flush. */
  private ready: H2Stream[] = [];
  private resetWindowStart = 0;
  private resetsInWindow = 0;

  constructor(
    readonly socket: Socket,
    readonly role: 'server' | 'client',
    private readonly local: LocalSettings,
    private readonly events: ConnectionEvents = {},
  ) {
    this.decoder = new HpackDecoder(4096, local.maxHeaderListSize);
    this.recvWindow = Math.max(local.connectionWindowSize, DEFAULT_WINDOW);
    this.streamUpdateThreshold = Math.max(1, Math.floor(local.initialWindowSize / 2));
    this.initialRecvWindow = Math.max(local.initialWindowSize, DEFAULT_WINDOW);
    this.connectionUpdateThreshold = Math.max(1, Math.floor(local.connectionWindowSize / 2));
    this.prefaceSeen = role === 'client';
    socket.setNoDelay(true);
    if (!readIntoArenas(socket, this.onSocketData, local.readArena)) socket.on('data', this.onSocketData);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onSocketClose);
    if (role === 'client') this.append(PREFACE);
    const settings: [number, number][] = [
      [SETTING.MAX_CONCURRENT_STREAMS, local.maxConcurrentStreams],
      [SETTING.INITIAL_WINDOW_SIZE, local.initialWindowSize],
      [SETTING.MAX_FRAME_SIZE, local.maxFrameSize],
      [SETTING.MAX_HEADER_LIST_SIZE, local.maxHeaderListSize],
    ];
    if (role === 'client') settings.unshift([SETTING.ENABLE_PUSH, 0]);
    this.writeSettings(settings);
    if (local.connectionWindowSize > DEFAULT_WINDOW) this.writeWindowUpdate(0, local.connectionWindowSize - DEFAULT_WINDOW);
  }

  /** Body bytes queued on this connection's streams, framed or waiting for window. */
  queuedBytes = 0;

  /** Out of connection-level send window (counting what is queued): another connection would carry a large body sooner. */
  get congested(): boolean {
    return this.sendWindow - this.queuedBytes < this.peerMaxFrameSize || this.blocked.size > 0;
  }

  /** Open streams, for least-loaded session choice. */
  get activeStreams(): number {
    return this.streams.size;
  }

  /** A new stream may be opened (client side). */
  get usable(): boolean {
    return !this.closed && !this.goawayReceived && !this.goawaySent && this.nextStreamId < MAX_WINDOW && this.streams.size < this.peerMaxConcurrentStreams;
  }

  /** Client side: opens a stream with these request headers. */
  request(fields: readonly string[], neverIndexed: readonly string[] | undefined, endStream: boolean, handler: StreamHandler): H2Stream {
    if (!this.usable) throw new Error('HTTP/2 connection cannot open more streams');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new H2Stream(this, id, this.peerInitialWindow, this.initialRecvWindow);
    stream.handler = handler;
    this.streams.set(id, stream);
    stream.sendHeaders(fields, neverIndexed, endStream);
    return stream;
  }

  /** PING; `cb` gets an error if the connection closes first. */
  ping(cb: (err?: Error) => void): void {
    this.pingCallbacks.push(cb);
    this.writeFrameHeader(8, FRAME.PING, 0, 0);
    this.slab.fill(0, this.slabPos, this.slabPos + 8);
    this.slabPos += 8;
    this.schedule();
  }

  /** Graceful: GOAWAY, finish open streams, then close. */
  close(): void {
    if (this.closed) return;
    if (!this.goawaySent) this.goaway(H2_ERROR.NO_ERROR);
    if (this.streams.size === 0) this.end();
  }

  destroy(err?: Error): void {
    if (this.closed) return;
    this.socket.destroy(err);
  }

  goaway(code: number): void {
    this.goawaySent = true;
    this.writeFrameHeader(8, FRAME.GOAWAY, 0, 0);
    this.slab.writeUInt32BE(this.lastPeerStreamId, this.slabPos);
    this.slab.writeUInt32BE(code, this.slabPos + 4);
    this.slabPos += 8;
    this.schedule();
  }

  private end(): void {
    this.flush();
    this.socket.end();
  }

  // ---- reading

  private readonly onSocketData = (chunk: Buffer): void => {
    try {
      let buf = chunk;
      if (this.dataLeft > 0) {
        // the rest of a DATA frame whose start came in an earlier read: passed on as it arrives
        const n = Math.min(this.dataLeft, buf.length);
        this.dataLeft -= n;
        this.dataPiece(this.dataId, this.dataFlags, buf.subarray(0, n), this.dataLeft === 0);
        if (n === buf.length || this.closed) return;
        buf = buf.subarray(n);
      }
      if (this.partialBytes > 0) {
        this.partial.push(buf);
        this.partialBytes += buf.length;
        if (this.partialBytes < this.need) return;
        buf = Buffer.concat(this.partial, this.partialBytes);
        this.partial = [];
        this.partialBytes = 0;
      }
      this.parse(buf);
    } catch (err) {
      this.fail(err);
    }
  };

  private parse(buf: Buffer): void {
    let pos = 0;
    if (!this.prefaceSeen) {
      if (buf.length < PREFACE.length) {
        this.keep(buf, 0, PREFACE.length);
        return;
      }
      if (!buf.subarray(0, PREFACE.length).equals(PREFACE)) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'not an HTTP/2 connection preface');
      this.prefaceSeen = true;
      pos = PREFACE.length;
    }
    const maxFrame = this.local.maxFrameSize;
    while (buf.length - pos >= 9) {
      const length = (buf[pos] as number) * 65536 + (buf[pos + 1] as number) * 256 + (buf[pos + 2] as number);
      if (length > maxFrame) throw new ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, `frame of ${length} bytes over SETTINGS_MAX_FRAME_SIZE`);
      const type = buf[pos + 3] as number;
      const flags = buf[pos + 4] as number;
      const available = buf.length - pos - 9;
      if (available < length) {
        if (type === FRAME.DATA && (flags & FLAG_PADDED) === 0 && this.continuation === undefined) {
          // start of a large DATA frame: pass on what is here, the rest as it comes
          const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
          this.dataId = id;
          this.dataFlags = flags;
          this.dataLeft = length - available;
          this.dataFrameStart(id, length);
          this.dataPiece(id, flags, buf.subarray(pos + 9), false);
          return;
        }
        this.keep(buf, pos, 9 + length);
        return;
      }
      const id = buf.readUInt32BE(pos + 5) & 0x7fffffff;
      const payload = buf.subarray(pos + 9, pos + 9 + length);
      pos += 9 + length;
      this.frame(type, flags, id, payload);
      if (this.closed) return;
    }
    if (pos < buf.length) this.keep(buf, pos, 9);
  }

  private keep(buf: Buffer, from: number, need: number): void {
    const rest = buf.subarray(from);
    this.partial = [rest];
    this.partialBytes = rest.length;
    this.need = need;
  }

  private frame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.continuation !== undefined && type !== FRAME.CONTINUATION) {
      throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'expected CONTINUATION');
    }
    switch (type) {
      case FRAME.DATA:
        return this.onData(flags, id, payload);
      case FRAME.HEADERS:
        return this.onHeadersFrame(flags, id, payload);
      case FRAME.CONTINUATION:
        return this.onContinuation(flags, id, payload);
      case FRAME.RST_STREAM:
        return this.onRstStream(id, payload);
      case FRAME.SETTINGS:
        return this.onSettings(flags, id, payload);
      case FRAME.PING:
        return this.onPing(flags, id, payload);
      case FRAME.GOAWAY:
        return this.onGoaway(id, payload);
      case FRAME.WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      case FRAME.PUSH_PROMISE:
        throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      case FRAME.PRIORITY:
        if (payload.length !== 5) throw new ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, 'PRIORITY must be 5 bytes');
        return;
      default:
        // unknown frame types are ignored (RFC 9113 §4.1)
        return;
    }
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    const length = payload.length;
    let data = payload;
    if (flags & FLAG_PADDED) {
      const pad = payload[0] ?? 0;
      if (pad >= length) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'padding longer than the frame');
      data = payload.subarray(1, length - pad);
    }
    this.dataFrameStart(id, length);
    // padding is credited at once; the data when its owner passed it on
    const stream = this.streams.get(id);
    if (length !== data.length) {
      if (stream !== undefined && !stream.remoteEnded) stream.consumed(length - data.length);
      else this.consumedConnection(length - data.length);
    }
    this.dataPiece(id, flags, data, true);
  }

  /** Flow-control accounting for a whole DATA frame (padding included), before its bytes are passed on. */
  private dataFrameStart(id: number, length: number): void {
    if (id === 0) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'DATA on stream 0');
    this.recvWindow -= length;
    if (this.recvWindow < 0) throw new ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'connection receive window overrun');
    const stream = this.streams.get(id);
    if (stream === undefined || stream.remoteEnded) {
      if (stream === undefined && id > this.highestStreamId()) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      return;
    }
    stream.recvWindow -= length;
    if (stream.recvWindow < 0) {
      stream.reset(H2_ERROR.FLOW_CONTROL_ERROR);
      stream.handler?.onReset(stream, H2_ERROR.FLOW_CONTROL_ERROR);
    }
  }

  /** Part (or all) of a DATA frame's data; END_STREAM counts on the frame's last part. */
  private dataPiece(id: number, flags: number, data: Buffer, lastOfFrame: boolean): void {
    const stream = this.streams.get(id);
    if (stream === undefined || stream.remoteEnded) {
      // closed or reset stream: the connection window still counts these bytes
      this.consumedConnection(data.length);
      return;
    }
    const end = lastOfFrame && (flags & FLAG_END_STREAM) !== 0;
    if (end) stream.remoteEnded = true;
    if (data.length === 0 && !end) return;
    stream.handler?.onData(stream, data, end);
    if (end && stream.localEnded) this.closeStream(stream);
  }

  private highestStreamId(): number {
    return this.role === 'server' ? this.lastPeerStreamId : this.nextStreamId - 2;
  }

  private onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let start = 0;
    let end = payload.length;
    if (flags & FLAG_PADDED) {
      const pad = payload[0] ?? 0;
      start = 1;
      end -= pad;
    }
    if (flags & FLAG_PRIORITY) start += 5;
    if (start > end) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'HEADERS padding or priority longer than the frame');
    const fragment = payload.subarray(start, end);
    const endStream = (flags & FLAG_END_STREAM) !== 0;
    if (flags & FLAG_END_HEADERS) {
      this.headerBlock(id, fragment, endStream);
    } else {
      this.continuation = { id, endStream, fragments: [Buffer.from(fragment)], size: fragment.length };
    }
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const c = this.continuation;
    if (c === undefined || c.id !== id) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    c.fragments.push(Buffer.from(payload));
    c.size += payload.length;
    if (c.size > MAX_HEADER_BLOCK) throw new ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, 'header block too large');
    if (flags & FLAG_END_HEADERS) {
      this.continuation = undefined;
      this.headerBlock(id, Buffer.concat(c.fragments, c.size), c.endStream);
    }
  }

  private headerBlock(id: number, block: Buffer, endStream: boolean): void {
    let headers: HeaderList;
    try {
      headers = this.decoder.decode(block);
    } catch (err) {
      if (err instanceof HpackError || err instanceof HuffmanError) throw new ConnectionError(H2_ERROR.COMPRESSION_ERROR, err.message);
      throw err;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.role !== 'server' || id % 2 === 0 || id <= this.lastPeerStreamId) return;
      this.lastPeerStreamId = id;
      if (this.goawaySent || this.decoder.oversized || this.streams.size >= this.local.maxConcurrentStreams) {
        this.writeRstStream(id, this.decoder.oversized ? H2_ERROR.PROTOCOL_ERROR : H2_ERROR.REFUSED_STREAM);
        return;
      }
      const s = new H2Stream(this, id, this.peerInitialWindow, this.initialRecvWindow);
      s.remoteEnded = endStream;
      this.streams.set(id, s);
      this.events.onStream?.(s, headers, endStream);
      return;
    }
    if (stream.remoteEnded) {
      stream.reset(H2_ERROR.STREAM_CLOSED);
      return;
    }
    if (this.decoder.oversized) {
      stream.reset(H2_ERROR.PROTOCOL_ERROR);
      stream.handler?.onReset(stream, H2_ERROR.PROTOCOL_ERROR);
      return;
    }
    if (endStream) stream.remoteEnded = true;
    stream.handler?.onHeaders(stream, headers, endStream);
    if (endStream && stream.localEnded) this.closeStream(stream);
  }

  private onRstStream(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, 'RST_STREAM must be 4 bytes');
    if (id === 0) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (this.role === 'server') {
      const now = Date.now();
      if (now - this.resetWindowStart > 1000) {
        this.resetWindowStart = now;
        this.resetsInWindow = 0;
      }
      if (++this.resetsInWindow > MAX_RESETS_PER_SECOND) throw new ConnectionError(H2_ERROR.ENHANCE_YOUR_CALM, 'too many stream resets');
    }
    const code = payload.readUInt32BE(0);
    this.closeStream(stream);
    stream.handler?.onReset(stream, code);
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & FLAG_ACK) return;
    if (payload.length % 6 !== 0) throw new ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, 'SETTINGS length not a multiple of 6');
    for (let i = 0; i < payload.length; i += 6) {
      const key = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      switch (key) {
        case SETTING.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(value);
          break;
        case SETTING.MAX_CONCURRENT_STREAMS:
          this.peerMaxConcurrentStreams = value;
          break;
        case SETTING.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE too large');
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const s of this.streams.values()) s.sendWindow += delta;
          break;
        }
        case SETTING.MAX_FRAME_SIZE:
          if (value < 16_384 || value > 16_777_215) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'invalid SETTINGS_MAX_FRAME_SIZE');
          this.peerMaxFrameSize = value;
          break;
        default:
          break;
      }
    }
    this.writeFrameHeader(0, FRAME.SETTINGS, FLAG_ACK, 0);
    this.schedule();
    this.unblock();
    for (const s of this.streams.values()) if (s.queuedBytes > 0) s.flushPending();
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'PING on a stream');
    if (payload.length !== 8) throw new ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, 'PING must be 8 bytes');
    if (flags & FLAG_ACK) {
      this.pingCallbacks.shift()?.();
      return;
    }
    this.writeFrameHeader(8, FRAME.PING, FLAG_ACK, 0);
    payload.copy(this.slab, this.slabPos);
    this.slabPos += 8;
    this.schedule();
  }

  private onGoaway(id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (payload.length < 8) throw new ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, 'GOAWAY too short');
    const last = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    this.goawayReceived = true;
    this.events.onGoaway?.(this, last, code);
    // streams the peer never saw can be retried elsewhere
    for (const s of [...this.streams.values()]) {
      if (s.id > last && (s.id % 2 === 1) === (this.role === 'client')) {
        this.closeStream(s);
        s.handler?.onReset(s, H2_ERROR.REFUSED_STREAM);
      }
    }
    if (this.streams.size === 0) this.end();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(H2_ERROR.FRAME_SIZE_ERROR, 'WINDOW_UPDATE must be 4 bytes');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(H2_ERROR.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError(H2_ERROR.FLOW_CONTROL_ERROR, 'connection window overflow');
      this.unblock();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (increment === 0) {
      stream.reset(H2_ERROR.PROTOCOL_ERROR);
      stream.handler?.onReset(stream, H2_ERROR.PROTOCOL_ERROR);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      stream.reset(H2_ERROR.FLOW_CONTROL_ERROR);
      stream.handler?.onReset(stream, H2_ERROR.FLOW_CONTROL_ERROR);
      return;
    }
    if (stream.queuedBytes > 0 || stream.localEnded === false) stream.flushPending();
  }

  private unblock(): void {
    if (this.blocked.size === 0) return;
    const waiting = [...this.blocked];
    this.blocked.clear();
    for (const s of waiting) {
      if (this.sendWindow <= 0) {
        this.blocked.add(s);
        continue;
      }
      s.flushPending();
    }
  }

  closeStream(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    // data that arrived for it and was never passed on still counts against the connection window
    const owed = stream.dropPending();
    if (owed > 0 && stream.creditTo !== undefined) stream.creditTo.consumed(owed);
    if (this.streams.size === 0 && (this.goawaySent || this.goawayReceived)) this.end();
  }

  consumedConnection(n: number): void {
    this.recvUnacked += n;
    if (this.recvUnacked >= this.connectionUpdateThreshold) {
      this.recvWindow += this.recvUnacked;
      this.writeWindowUpdate(0, this.recvUnacked);
      this.recvUnacked = 0;
    }
  }

  private readonly onSocketError = (err: Error): void => {
    this.shutdown(err);
  };

  private readonly onSocketClose = (): void => {
    this.shutdown(undefined);
  };

  private fail(err: unknown): void {
    const code = err instanceof ConnectionError ? err.code : H2_ERROR.INTERNAL_ERROR;
    if (!this.closed) {
      this.goaway(code);
      this.flush();
    }
    this.socket.destroy();
    this.shutdown(err instanceof Error ? err : new Error(String(err)));
  }

  private shutdown(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    const streams = [...this.streams.values()];
    this.streams.clear();
    this.blocked.clear();
    for (const s of streams) {
      s.closed = true;
      s.handler?.onReset(s, CONNECTION_LOST);
    }
    for (const cb of this.pingCallbacks.splice(0)) cb(err ?? new Error('connection closed'));
    if (!this.socket.destroyed) this.socket.destroy();
    this.events.onClose?.(this, err);
  }

  // ---- writing: frames go into a slab (headers, small payloads) or by reference (large payloads)

  private ensure(n: number): void {
    if (this.slab.length - this.slabPos >= n) return;
    this.cut();
    this.slab = Buffer.allocUnsafe(Math.max(SLAB_SIZE, n));
    this.slabPos = 0;
    this.slabStart = 0;
  }

  /** Moves the slab's unsent bytes into the output list. */
  private cut(): void {
    if (this.slabPos > this.slabStart) {
      const seg = this.slab.subarray(this.slabStart, this.slabPos);
      this.out.push(seg);
      this.outBytes += seg.length;
      this.slabStart = this.slabPos;
    }
  }

  private writeFrameHeader(length: number, type: number, flags: number, id: number): void {
    this.ensure(9 + (length <= COPY_LIMIT ? length : 0));
    const b = this.slab;
    const p = this.slabPos;
    b[p] = (length >>> 16) & 0xff;
    b[p + 1] = (length >>> 8) & 0xff;
    b[p + 2] = length & 0xff;
    b[p + 3] = type;
    b[p + 4] = flags;
    b.writeUInt32BE(id, p + 5);
    this.slabPos = p + 9;
  }

  markPending(stream: H2Stream): void {
    if (!stream.inReady) {
      stream.inReady = true;
      this.ready.push(stream);
    }
    this.schedule();
  }

  writeDataHeader(id: number, length: number, endStream: boolean): void {
    this.writeFrameHeader(length, FRAME.DATA, endStream ? FLAG_END_STREAM : 0, id);
  }

  appendPayload(data: Buffer): void {
    this.append(data);
  }

  private append(data: Buffer): void {
    if (data.length <= COPY_LIMIT) {
      this.ensure(data.length);
      data.copy(this.slab, this.slabPos);
      this.slabPos += data.length;
    } else {
      this.cut();
      this.out.push(data);
      this.outBytes += data.length;
    }
    this.schedule();
  }

  writeData(id: number, data: Buffer, endStream: boolean): void {
    this.writeFrameHeader(data.length, FRAME.DATA, endStream ? FLAG_END_STREAM : 0, id);
    if (data.length > 0) this.append(data);
    else this.schedule();
  }

  writeHeaders(id: number, fields: readonly string[], neverIndexed: readonly string[] | undefined, endStream: boolean): void {
    const block = this.encoder.encode(fields, neverIndexed);
    const max = this.peerMaxFrameSize;
    let offset = 0;
    let type: number = FRAME.HEADERS;
    do {
      const n = Math.min(max, block.length - offset);
      const last = offset + n === block.length;
      const flags = (last ? FLAG_END_HEADERS : 0) | (type === FRAME.HEADERS && endStream ? FLAG_END_STREAM : 0);
      this.writeFrameHeader(n, type, flags, id);
      // the encoder reuses its buffer: header blocks are always copied
      this.ensure(n);
      block.copy(this.slab, this.slabPos, offset, offset + n);
      this.slabPos += n;
      offset += n;
      type = FRAME.CONTINUATION;
    } while (offset < block.length);
    this.schedule();
  }

  writeRstStream(id: number, code: number): void {
    this.writeFrameHeader(4, FRAME.RST_STREAM, 0, id);
    this.slab.writeUInt32BE(code, this.slabPos);
    this.slabPos += 4;
    this.schedule();
  }

  writeWindowUpdate(id: number, increment: number): void {
    this.writeFrameHeader(4, FRAME.WINDOW_UPDATE, 0, id);
    this.slab.writeUInt32BE(increment, this.slabPos);
    this.slabPos += 4;
    this.schedule();
  }

  private writeSettings(settings: readonly [number, number][]): void {
    this.writeFrameHeader(settings.length * 6, FRAME.SETTINGS, 0, 0);
    for (const [key, value] of settings) {
      this.slab.writeUInt16BE(key, this.slabPos);
      this.slab.writeUInt32BE(value, this.slabPos + 2);
      this.slabPos += 6;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.closed || this.queued) return;
    this.queued = true;
    dirty.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flushAll);
    }
  }

  /** Writes everything queued in one go (one writev for many frames and streams). */
  flush(): void {
    if (this.ready.length > 0) {
      const ready = this.ready;
      this.ready = [];
      for (const s of ready) {
        s.inReady = false;
        s.flushPending();
      }
    }
    this.cut();
    const out = this.out;
    if (out.length === 0 || this.socket.destroyed) return;
    this.out = [];
    const bytes = this.outBytes;
    this.outBytes = 0;
    // the written bytes are the socket's now: later frames go to fresh slab space
    this.slabStart = this.slabPos;
    if (out.length === 1) {
      this.socket.write(out[0] as Buffer);
    } else if (bytes <= COPY_LIMIT * 16) {
      this.socket.write(Buffer.concat(out, bytes));
    } else {
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
  }
}
