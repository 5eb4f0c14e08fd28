import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { Http1Agent, type ResponseBody } from './http1-client';
import type { ByteRange } from './storage';

// GetObject without the SDK's middleware stack: the same SigV4 signer and credentials, one plain HTTP
// request. Measured here, a small GetObject through the SDK cost ~2.7 ms of CPU against ~0.5 ms for
// the bare request, which decides the speed of trees with many small files. The request goes through
// Http1Agent, whose bodies can be read straight into the file's staging buffer.

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface DirectGetOptions {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint?: string;
  readonly forcePathStyle: boolean;
  readonly credentials: () => Promise<Credentials>;
  readonly maxSockets: number;
  /** Idle socket timeout (default 60 s). */
  readonly timeoutMs?: number;
}

/** A non-2xx answer: status, S3 error code and message from the XML body. */
export class S3HttpError extends Error {
  override readonly name = 'S3HttpError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly bucketRegion?: string,
  ) {
    super(message);
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;
const toBytes = (d: SourceData): string | Uint8Array =>
  typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

/** SHA-256 / HMAC-SHA-256 on node:crypto in the shape the signer takes. */
class NodeSha256 {
  private readonly h: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }
  update(data: SourceData): void {
    this.h.update(toBytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

/** S3's key encoding: each segment percent-encoded as RFC 3986 unreserved, "/" kept. */
export function encodeS3Key(key: string): string {
  return key
    .split('/')
    .map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/** Virtual-hosted style needs a DNS-safe bucket without dots (TLS wildcard certificates). */
function virtualHostable(bucket: string): boolean {
  return /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(bucket);
}

interface Target {
  readonly protocol: 'http:' | 'https:';
  readonly hostname: string;
  readonly port?: number;
  /** Path before the encoded key, without a trailing "/". */
  readonly prefix: string;
}

/** Where GETs for `bucket` go, as the SDK addresses them for plain buckets (no ARNs, FIPS or dual-stack). */
export function s3Target(bucket: string, region: string, endpoint: string | undefined, forcePathStyle: boolean): Target {
  const pathStyle = forcePathStyle || !virtualHostable(bucket);
  if (endpoint !== undefined) {
    const u = new URL(endpoint);
    const base = u.pathname.replace(/\/+$/, '');
    const protocol = u.protocol === 'http:' ? 'http:' : 'https:';
    const port = u.port === '' ? undefined : Number(u.port);
    return pathStyle
      ? { protocol, hostname: u.hostname, ...(port !== undefined ? { port } : {}), prefix: `${base}/${bucket}` }
      : { protocol, hostname: `${bucket}.${u.hostname}`, ...(port !== undefined ? { port } : {}), prefix: base };
  }
  return pathStyle
    ? { protocol: 'https:', hostname: `s3.${region}.amazonaws.com`, prefix: `/${bucket}` }
    : { protocol: 'https:', hostname: `${bucket}.s3.${region}.amazonaws.com`, prefix: '' };
}

export interface DirectGetResult {
  readonly body: ResponseBody;
  readonly serverSideEncryption?: string;
  readonly sseCustomerAlgorithm?: string;
}

export function createDirectGetter(opts: DirectGetOptions) {
  const target = s3Target(opts.bucket, opts.region, opts.endpoint, opts.forcePathStyle);
  const agent = new Http1Agent({
    protocol: target.protocol,
    hostname: target.hostname,
    ...(target.port !== undefined ? { port: target.port } : {}),
    maxSockets: opts.maxSockets,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
  });
  const signer = new SignatureV4({
    service: 's3',
    region: opts.region,
    credentials: opts.credentials,
    sha256: NodeSha256,
    uriEscapePath: false,
    applyChecksum: false,
  });
  const hostHeader = target.port === undefined ? target.hostname : `${target.hostname}:${target.port}`;

  async function get(key: string, range?: ByteRange): Promise<DirectGetResult> {
    const headers: Record<string, string> = { host: hostHeader, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    if (range) headers['range'] = `bytes=${range.start}-${range.end}`;
    const path = `${target.prefix}/${encodeS3Key(key)}`;
    const signed = await signer.sign({
      method: 'GET',
      protocol: target.protocol,
      hostname: target.hostname,
      ...(target.port !== undefined ? { port: target.port } : {}),
      path,
      query: {},
      headers,
    });
    const response = await agent.get(path, signed.headers);
    const status = response.status;
    if (status !== 200 && status !== 206) {
      const body = await response.body.text(64 * 1024);
      const code = /<Code>([^<]*)<\/Code>/.exec(body)?.[1] ?? `HTTP${status}`;
      const message = /<Message>([^<]*)<\/Message>/.exec(body)?.[1] ?? '';
      const region = response.headers['x-amz-bucket-region'];
      throw new S3HttpError(status, code, message, typeof region === 'string' ? region : undefined);
    }
    const sse = response.headers['x-amz-server-side-encryption'];
    const ssec = response.headers['x-amz-server-side-encryption-customer-algorithm'];
    return {
      body: response.body,
      ...(typeof sse === 'string' ? { serverSideEncryption: sse } : {}),
      ...(typeof ssec === 'string' ? { sseCustomerAlgorithm: ssec } : {}),
    };
  }

  return {
    get,
    close() {
      agent.close();
    },
  };
}
