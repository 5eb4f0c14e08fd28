import { status as GrpcStatus } from '@grpc/grpc-js';

// gRPC-over-HTTP/2 details the gateway reads or writes without decoding messages:
// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md

export { GrpcStatus };

/** `GrpcStatus[code]` for the codes 0..16, `CODE_<n>` beyond: a label value that never grows without bound. */
export function grpcCodeName(code: number): string {
  return (code >= 0 && code <= 16 ? GrpcStatus[code] : undefined) ?? `CODE_${code}`;
}

const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };

/** `grpc-timeout` (1–8 digits + H|M|S|m|u|n) → milliseconds; undefined when absent or malformed. */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || value.length < 2 || value.length > 9) return undefined;
  const unit = TIMEOUT_UNIT_MS[value[value.length - 1] as string];
  const digits = value.slice(0, -1);
  if (unit === undefined || !/^\d+$/.test(digits)) return undefined;
  return Number(digits) * unit;
}

/** Milliseconds → `grpc-timeout`, rounded up so a propagated deadline is never earlier than the real one. */
export function formatGrpcTimeout(ms: number): string {
  const m = Math.max(0, Math.ceil(ms));
  if (m < 100_000_000) return `${m}m`;
  const s = Math.ceil(m / 1000);
  if (s < 100_000_000) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(s / 3600))}H`;
}

/** grpc-message is percent-encoded: everything outside printable ASCII, and '%' itself. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** The 5-byte length prefix of one uncompressed message. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/** The first whole message of a unary response body; undefined when the body holds none or it is compressed. */
export function firstMessage(body: Buffer): Buffer | undefined {
  if (body.length < 5 || body[0] !== 0) return undefined;
  const length = body.readUInt32BE(1);
  return body.length >= 5 + length ? body.subarray(5, 5 + length) : undefined;
}

/**
 * Follows message boundaries across body chunks to enforce a size limit without copying anything.
 * `feed` returns the size of the first message over the limit, or -1.
 */
export class MessageSizeGuard {
  private headerBytes = 0;
  private header = 0;
  private remaining = 0;

  constructor(readonly limit: number) {}

  feed(chunk: Buffer): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, n - i);
        this.remaining -= take;
        i += take;
        continue;
      }
      // bytes 1..4 of the prefix are the big-endian length; byte 0 is the compressed flag
      if (this.headerBytes > 0) this.header = this.header * 256 + (chunk[i] as number);
      this.headerBytes++;
      i++;
      if (this.headerBytes === 5) {
        const length = this.header;
        this.headerBytes = 0;
        this.header = 0;
        if (length > this.limit) return length;
        this.remaining = length;
      }
    }
    return -1;
  }
}
