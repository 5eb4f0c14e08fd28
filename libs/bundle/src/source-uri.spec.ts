import fc from 'fast-check';
import { posix } from 'node:path';
import { formatSourceUri, parseSourceUri, sourceChild, SourceUriError, type SourceUri } from './source-uri';

function reason(input: string, baseDir?: string): string {
  try {
    parseSourceUri(input, { baseDir });
  } catch (error) {
    if (error instanceof SourceUriError) return error.reason;
    throw error;
  }
  throw new Error(`${input} parsed`);
}

describe('parseSourceUri', () => {
  it('parses each scheme', () => {
    expect(parseSourceUri('gs://bucket/models')).toEqual({ scheme: 'gs', bucket: 'bucket', prefix: 'models', uri: 'gs://bucket/models' });
    expect(parseSourceUri('s3://my.bucket/a/b/')).toEqual({ scheme: 's3', bucket: 'my.bucket', prefix: 'a/b', uri: 's3://my.bucket/a/b' });
    expect(parseSourceUri('gs://bucket_1')).toEqual({ scheme: 'gs', bucket: 'bucket_1', prefix: '', uri: 'gs://bucket_1' });
    expect(parseSourceUri('file:///srv/bucket/models/')).toEqual({
      scheme: 'file',
      path: '/srv/bucket/models',
      prefix: '/srv/bucket/models',
      uri: 'file:///srv/bucket/models',
    });
    expect(parseSourceUri('file://./bucket', { baseDir: '/deploy/demo' })).toMatchObject({ path: '/deploy/demo/bucket' });
    expect(parseSourceUri('file://../shared/m', { baseDir: '/deploy/demo' })).toMatchObject({ path: '/deploy/shared/m' });
    expect(parseSourceUri('gs://bucket/with space/x')).toMatchObject({ prefix: 'with space/x' });
  });

  it('rejects everything else with the reason', () => {
    expect(reason('/srv/models')).toBe('a local directory is written file:///srv/models');
    expect(reason('models')).toBe('expected gs://bucket/prefix, s3://bucket/prefix, file:///absolute/dir or file://./relative/dir');
    expect(reason('gcs://bucket/m')).toBe('Cloud Storage sources use gs://');
    expect(reason('GS://bucket/m')).toBe('write the scheme in lowercase: gs://');
    expect(reason('ftp://host/m')).toMatch(/^unsupported scheme 'ftp'/);
    expect(reason('gs:bucket')).toBe("expected 'gs://'");
    expect(reason('gs://')).toBe('missing bucket name');
    expect(reason('s3://ab/m')).toMatch(/^'ab' is not an S3 bucket name/);
    expect(reason('s3://under_score/m')).toMatch(/^'under_score' is not an S3 bucket name/);
    expect(reason('s3://192.168.1.1/m')).toMatch(/is not an S3 bucket name/);
    expect(reason('gs://bucket//m')).toBe('the prefix has an empty path segment (//)');
    expect(reason('gs://bucket/a/../b')).toBe("'.' and '..' are not allowed in a bucket prefix");
    expect(reason('s3://bucket/m?versionId=1')).toBe('query strings and fragments are not supported');
    expect(reason('file://./m')).toMatch(/^a relative file:\/\/ source needs a base directory/);
    expect(reason('file://./m', 'relative/dir')).toBe('the base directory "relative/dir" is not absolute');
    expect(reason('file://host/m')).toMatch(/^write an absolute directory as file:\/\/\/dir/);
  });

  it('steps down to a model directory', () => {
    expect(sourceChild(parseSourceUri('s3://bucket/models'), 'a1', '3').uri).toBe('s3://bucket/models/a1/3');
    expect(sourceChild(parseSourceUri('gs://bucket'), 'a1')).toEqual({ scheme: 'gs', bucket: 'bucket', prefix: 'a1', uri: 'gs://bucket/a1' });
    expect(sourceChild(parseSourceUri('file:///srv/m'), 'a1')).toEqual({ scheme: 'file', path: '/srv/m/a1', prefix: '/srv/m/a1', uri: 'file:///srv/m/a1' });
    expect(() => sourceChild(parseSourceUri('gs://bucket'), '../x')).toThrow(RangeError);
  });
});

const lowerAlnum = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''));
const bucketName = fc
  .tuple(lowerAlnum, fc.array(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-'.split('')), { minLength: 1, maxLength: 40 }), lowerAlnum)
  .map(([a, middle, z]) => `${a}${middle.join('')}${z}`);
const segment = fc
  .string({ minLength: 1, maxLength: 12, unit: fc.constantFrom(...'abcXYZ019-_.~ @+='.split('')) })
  .filter((s) => s !== '.' && s !== '..');
const prefix = fc.array(segment, { maxLength: 4 }).map((parts) => parts.join('/'));

describe('parseSourceUri properties', () => {
  it('reads back the bucket and prefix of any well-formed gs:// or s3:// URI', () => {
    fc.assert(
      fc.property(fc.constantFrom('gs', 's3'), bucketName, prefix, fc.boolean(), (scheme, bucket, p, trailingSlash) => {
        const text = `${scheme}://${bucket}${p === '' ? '' : `/${p}`}${trailingSlash ? '/' : ''}`;
        const parsed = parseSourceUri(text);
        expect(parsed).toEqual({ scheme, bucket, prefix: p, uri: `${scheme}://${bucket}${p === '' ? '' : `/${p}`}` });
        expect(parseSourceUri(formatSourceUri(parsed))).toEqual(parsed);
      }),
    );
  });

  it('resolves relative file:// sources against the base directory', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.array(segment, { maxLength: 3 }), (baseParts, rel) => {
        const baseDir = `/${baseParts.join('/')}`;
        const parsed = parseSourceUri(`file://./${rel.join('/')}`, { baseDir });
        const expected = posix.join(baseDir, ...rel);
        expect(parsed).toEqual({ scheme: 'file', path: expected, prefix: expected, uri: `file://${expected}` });
      }),
    );
  });

  it('either returns a canonical source or throws SourceUriError, for any input', () => {
    const uriLike = fc.oneof(
      fc.string(),
      fc.tuple(fc.constantFrom('gs://', 's3://', 'file://', 'file:///', 'GS://', 'gs:', 'http://', ''), fc.string()).map(([a, b]) => a + b),
    );
    fc.assert(
      fc.property(uriLike, (text) => {
        let parsed: SourceUri;
        try {
          parsed = parseSourceUri(text, { baseDir: '/base' });
        } catch (error) {
          expect(error).toBeInstanceOf(SourceUriError);
          return;
        }
        expect(parseSourceUri(parsed.uri, { baseDir: '/base' })).toEqual(parsed);
        expect(formatSourceUri(parsed)).toBe(parsed.uri);
        if (parsed.scheme === 'file') expect(posix.isAbsolute(parsed.path)).toBe(true);
        else expect(parsed.prefix.split('/').some((s) => s === '..')).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
