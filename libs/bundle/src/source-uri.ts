import { posix } from 'node:path';

/** Where model files come from; models live at `<source>/<id>/<version>/…`. */
export type SourceUri =
  | { scheme: 'gs'; bucket: string; prefix: string; uri: string }
  | { scheme: 's3'; bucket: string; prefix: string; uri: string }
  /** `prefix` mirrors `path` so code joining `<prefix>/<id>` works for every scheme. */
  | { scheme: 'file'; path: string; prefix: string; uri: string };

export class SourceUriError extends Error {
  override readonly name = 'SourceUriError';

  constructor(
    readonly input: string,
    readonly reason: string,
  ) {
    super(`invalid source ${JSON.stringify(input)}: ${reason}`);
  }
}

export interface ParseSourceUriOptions {
  /** Absolute directory that relative `file://./dir` sources resolve against (a bundle.yaml's directory). */
  baseDir?: string;
}

const EXPECTED = 'expected gs://bucket/prefix, s3://bucket/prefix, file:///absolute/dir or file://./relative/dir';

/**
 * Parses a source URI. URIs are taken literally (no percent-decoding), as gsutil, aws s3 and rclone take paths.
 * Throws SourceUriError with the reason.
 */
export function parseSourceUri(input: string, options: ParseSourceUriOptions = {}): SourceUri {
  const fail = (reason: string): never => {
    throw new SourceUriError(input, reason);
  };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(input)?.[1];
  if (scheme === undefined) {
    if (input.startsWith('/') || /^\.\.?\//.test(input)) return fail(`a local directory is written file://${input}`);
    return fail(EXPECTED);
  }
  const lower = scheme.toLowerCase();
  if (lower !== scheme && ['gs', 's3', 'file'].includes(lower)) fail(`write the scheme in lowercase: ${lower}://`);
  if (lower === 'gcs') fail('Cloud Storage sources use gs://');
  if (lower === 'http' || lower === 'https') fail(`HTTP sources are not supported; ${EXPECTED}`);
  if (!['gs', 's3', 'file'].includes(lower)) fail(`unsupported scheme '${scheme}'; ${EXPECTED}`);
  const afterScheme = input.slice(scheme.length + 1);
  if (!afterScheme.startsWith('//')) fail(`expected '${scheme}://'`);
  if (/[?#]/.test(input)) fail('query strings and fragments are not supported');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(input)) fail('control characters and backslashes are not allowed');
  const rest = afterScheme.slice(2);
  if (scheme === 'file') return parseFile(rest, options, fail);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/$/, '');
  if (bucket === '') fail('missing bucket name');
  const bucketProblem = scheme === 's3' ? s3BucketProblem(bucket) : gcsBucketProblem(bucket);
  if (bucketProblem !== undefined) fail(bucketProblem);
  if (prefix !== '') {
    const segments = prefix.split('/');
    if (segments.includes('')) fail('the prefix has an empty path segment (//)');
    if (segments.some((s) => s === '.' || s === '..')) fail("'.' and '..' are not allowed in a bucket prefix");
  }
  const uri = `${scheme}://${bucket}${prefix === '' ? '' : `/${prefix}`}`;
  return scheme === 's3' ? { scheme: 's3', bucket, prefix, uri } : { scheme: 'gs', bucket, prefix, uri };
}

function parseFile(rest: string, options: ParseSourceUriOptions, fail: (reason: string) => never): SourceUri {
  let path: string;
  if (rest.startsWith('/')) {
    path = posix.normalize(rest);
  } else if (/^\.\.?(\/|$)/.test(rest)) {
    const base = options.baseDir;
    if (base === undefined) return fail('a relative file:// source needs a base directory (it resolves against the bundle.yaml directory)');
    if (!posix.isAbsolute(base)) return fail(`the base directory ${JSON.stringify(base)} is not absolute`);
    path = posix.resolve(base, rest);
  } else {
    return fail('write an absolute directory as file:///dir or a relative one as file://./dir (hosts are not supported)');
  }
  if (path.length > 1) path = path.replace(/\/+$/, '');
  return { scheme: 'file', path, prefix: path, uri: `file://${path}` };
}

const S3_BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const GCS_BUCKET_PART = /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;

function s3BucketProblem(bucket: string): string | undefined {
  if (!S3_BUCKET.test(bucket) || bucket.includes('..') || IPV4.test(bucket)) {
    return `'${bucket}' is not an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit`;
  }
  return undefined;
}

function gcsBucketProblem(bucket: string): string | undefined {
  const parts = bucket.split('.');
  const ok =
    bucket.length >= 3 &&
    bucket.length <= (parts.length > 1 ? 222 : 63) &&
    parts.every((p) => GCS_BUCKET_PART.test(p)) &&
    !IPV4.test(bucket);
  if (!ok) {
    return `'${bucket}' is not a Cloud Storage bucket name: 3-63 lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

/** The canonical text of a source: what `uri` holds. */
export function formatSourceUri(source: SourceUri): string {
  if (source.scheme === 'file') return `file://${source.path}`;
  return `${source.scheme}://${source.bucket}${source.prefix === '' ? '' : `/${source.prefix}`}`;
}

/** The source one level down, e.g. a model's directory `<source>/<id>` or version `<source>/<id>/<version>`. */
export function sourceChild(source: SourceUri, ...segments: string[]): SourceUri {
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..' || segment.includes('/')) {
      throw new RangeError(`not a single path segment: ${JSON.stringify(segment)}`);
    }
  }
  if (source.scheme === 'file') {
    const path = posix.join(source.path, ...segments);
    return { scheme: 'file', path, prefix: path, uri: `file://${path}` };
  }
  const prefix = [source.prefix, ...segments].filter((s) => s !== '').join('/');
  const child = { ...source, prefix };
  return { ...child, uri: formatSourceUri(child) };
}
