import { Socket, type SocketConstructorOpts } from 'node:net';

/** Bytes a read may fill at least (node's own read size); a read target smaller than this starts a new arena. */
export const MIN_READ_ARENA = 64 * 1024;
/** Each socket's reads land one after another in an arena of this size, by default. */
export const ARENA_SIZE = 256 * 1024;

interface ReadSymbols {
  readonly buffer: symbol;
  readonly callback: symbol;
  readonly generator: symbol;
}

/**
 * The symbols node's `net.Socket` keeps its `onread` option under. The option is public, but only for
 * sockets the program creates; accepted sockets get the same behaviour by setting these on the socket
 * before its first read. Found by their descriptions on a socket made with the option; undefined when
 * this node keeps them differently, and then sockets are read the ordinary way.
 */
function findReadSymbols(): ReadSymbols | undefined {
  // the constructor takes `onread` as connect() does; node's types list it for connect() only
  const options = { onread: { buffer: () => Buffer.alloc(1), callback: () => undefined } };
  const probe = new Socket(options as SocketConstructorOpts);
  const byName = new Map(Object.getOwnPropertySymbols(probe).map((s) => [s.description, s]));
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  const p = probe as unknown as Record<symbol, unknown>;
  if (buffer === undefined || callback === undefined || generator === undefined) return undefined;
  if (p[buffer] !== true || typeof p[callback] !== 'function' || typeof p[generator] !== 'function') return undefined;
  return { buffer, callback, generator };
}

let symbols: ReadSymbols | undefined | null = null;

interface StreamHandle {
  useUserBuffer?(buf: Uint8Array): void;
}

/**
 * Makes a plain TCP socket deliver its reads as views of arenas (256 KiB by default), one read after
 * another, instead of a new 64 KiB ArrayBuffer per read: one allocation per arena instead of one per
 * read, a read may fill all that is left of the arena (at least 64 KiB), and the bytes skip the
 * socket's readable stream ('data' events). Views handed on keep their arena alive as long as they are
 * referenced, as ordinary read buffers do, so nothing is ever overwritten. The cost: each connection
 * holds its current arena while idle (pages the kernel has not yet written into are not resident).
 * Returns false, leaving the socket alone, for TLS sockets, sockets that have already read and an
 * arena size of 0; the caller then listens for 'data'.
 */
export function readIntoArenas(socket: Socket, onData: (chunk: Buffer) => void, arenaSize = ARENA_SIZE): boolean {
  if (arenaSize === 0) return false;
  if (!(arenaSize >= MIN_READ_ARENA)) throw new RangeError(`a read arena must be at least ${MIN_READ_ARENA} bytes, got ${arenaSize}`);
  if (symbols === null) symbols = findReadSymbols();
  const s = symbols;
  const handle = (socket as unknown as { _handle?: StreamHandle | null })._handle;
  if (s === undefined || (socket as { encrypted?: boolean }).encrypted || socket.bytesRead > 0 || !handle || typeof handle.useUserBuffer !== 'function') {
    return false;
  }
  let arena = Buffer.allocUnsafeSlow(arenaSize);
  let used = 0;
  const next = (): Buffer => {
    if (arena.length - used < MIN_READ_ARENA) {
      arena = Buffer.allocUnsafeSlow(arenaSize);
      used = 0;
    }
    return arena.subarray(used);
  };
  const fields = socket as unknown as Record<symbol, unknown>;
  const first = next();
  fields[s.buffer] = first;
  fields[s.generator] = next;
  fields[s.callback] = (n: number, into: Buffer): void => {
    used += n;
    onData(into.subarray(0, n));
  };
  handle.useUserBuffer(first);
  return true;
}
