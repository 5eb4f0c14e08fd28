import { Metadata, status } from '@grpc/grpc-js';
import { BgError, ERRORS, bgError, toBgError, toHttpError, type ErrorCode } from './errors';
import { GRPC_ERROR_CODE_KEY, GRPC_ERROR_DETAILS_KEY, fromGrpcError, toGrpcStatus } from './errors-grpc';
import { GrpcCode } from './grpc-codes';

describe('error registry', () => {
  it('numbers the gRPC codes as grpc-js does, every one of them', () => {
    const fromGrpcJs = Object.fromEntries(Object.entries(status).filter(([name]) => Number.isNaN(Number(name))));
    expect(GrpcCode).toEqual(fromGrpcJs);
  });

  it('gives the statuses the API contract fixes', () => {
    const expected: [ErrorCode, number, status][] = [
      ['BG_UNKNOWN_MODEL', 404, status.NOT_FOUND],
      ['BG_UNKNOWN_VERSION', 404, status.NOT_FOUND],
      ['BG_MISSING_MODEL_ID', 400, status.INVALID_ARGUMENT],
      ['BG_INVALID_ARGUMENT', 400, status.INVALID_ARGUMENT],
      ['BG_BODY_TOO_LARGE', 413, status.RESOURCE_EXHAUSTED],
      ['BG_UNSUPPORTED_MEDIA_TYPE', 415, status.INVALID_ARGUMENT],
      ['BG_NOT_FOUND', 404, status.UNIMPLEMENTED],
      ['BG_METHOD_NOT_ALLOWED', 405, status.UNIMPLEMENTED],
      ['BG_NO_HEALTHY_ENDPOINT', 503, status.UNAVAILABLE],
      ['BG_UPSTREAM_UNAVAILABLE', 503, status.UNAVAILABLE],
      ['BG_UPSTREAM_TIMEOUT', 504, status.DEADLINE_EXCEEDED],
      ['BG_UPSTREAM_ERROR', 502, status.UNKNOWN],
      ['BG_MODEL_NOT_READY', 503, status.UNAVAILABLE],
      ['BG_INFERENCE_FAILED', 500, status.INTERNAL],
      ['BG_INTERNAL', 500, status.INTERNAL],
      ['BG_SHUTTING_DOWN', 503, status.UNAVAILABLE],
    ];
    for (const [code, http, grpc] of expected) {
      expect([code, ERRORS[code].http, ERRORS[code].grpc]).toEqual([code, http, grpc]);
    }
  });

  it('never maps a client mistake to a 5xx', () => {
    const clientCodes: ErrorCode[] = [
      'BG_MISSING_MODEL_ID',
      'BG_INVALID_ARGUMENT',
      'BG_INVALID_JSON',
      'BG_MISSING_INPUT',
      'BG_UNEXPECTED_INPUT',
      'BG_INVALID_INPUT_TYPE',
      'BG_INVALID_SHAPE',
      'BG_INVALID_DTYPE',
      'BG_INVALID_BYTE_SIZE',
      'BG_BAD_BASE64',
      'BG_IMAGE_DECODE',
      'BG_IMAGE_TOO_LARGE',
      'BG_BODY_TOO_LARGE',
      'BG_UNSUPPORTED_MEDIA_TYPE',
      'BG_UPSTREAM_REJECTED',
    ];
    for (const code of clientCodes) expect([code, ERRORS[code].http >= 400 && ERRORS[code].http < 500]).toEqual([code, true]);
  });

  it('renders messages from typed details', () => {
    expect(bgError('BG_UNKNOWN_MODEL', { modelId: 'abc', known: ['m1', 'm2'] }).message).toBe(
      'unknown model "abc"; known models: m1, m2',
    );
    expect(bgError('BG_INVALID_ARGUMENT', { field: 'encoding', expected: 'json or base64', got: 'hex' }).message).toBe(
      'invalid encoding: expected json or base64, got "hex"',
    );
    expect(bgError('BG_INVALID_SHAPE', { field: 'input', expected: '[1, 3, 224, 224]', got: [1, 3] }).message).toBe(
      'input "input" has shape [1, 3]; expected [1, 3, 224, 224]',
    );
    const many = Array.from({ length: 25 }, (_, i) => `m${i}`);
    expect(bgError('BG_UNKNOWN_MODEL', { modelId: 'x', known: many }).message).toMatch(/m19, … \(25 in all\)$/);
  });
});

describe('toHttpError', () => {
  it('puts code, message and public details in the body', () => {
    const e = bgError('BG_INVALID_DTYPE', { field: 'image', expected: 'FP32', got: 'INT8' });
    expect(toHttpError(e)).toEqual({
      status: 400,
      body: {
        error: {
          code: 'BG_INVALID_DTYPE',
          message: 'input "image" has datatype INT8; expected FP32',
          field: 'image',
          expected: 'FP32',
          got: 'INT8',
        },
      },
    });
  });

  it('turns any other error into BG_INTERNAL without leaking it', () => {
    const leaky = new Error('ECONNREFUSED 10.0.0.7:9000 /srv/secret/path');
    const { status: httpStatus, body } = toHttpError(leaky);
    expect(httpStatus).toBe(500);
    expect(body).toEqual({ error: { code: 'BG_INTERNAL', message: 'internal error' } });
    expect(toBgError(leaky).cause).toBe(leaky);
    expect(toHttpError('a thrown string').body.error.code).toBe('BG_INTERNAL');
    expect(toHttpError(undefined).status).toBe(500);
  });

  it('maps body-parser client errors to 4xx codes', () => {
    const tooLarge = Object.assign(new Error('request entity too large'), { type: 'entity.too.large', limit: 1024 });
    expect(toHttpError(tooLarge)).toEqual({
      status: 413,
      body: { error: { code: 'BG_BODY_TOO_LARGE', message: 'request body is too large; the limit is 1024 bytes', limit: 1024 } },
    });
    const badJson = Object.assign(new SyntaxError('Unexpected token'), { type: 'entity.parse.failed' });
    expect(toHttpError(badJson).status).toBe(400);
    expect(toHttpError(badJson).body.error.code).toBe('BG_INVALID_JSON');
  });

  it('keeps details from overwriting code and message', () => {
    const e = new BgError('BG_INVALID_ARGUMENT', { field: 'x', expected: 'y', code: 'HACK', message: 'm' } as never);
    expect(toHttpError(e).body.error.code).toBe('BG_INVALID_ARGUMENT');
    expect(toHttpError(e).body.error.message).toBe('invalid x: expected y');
  });
});

describe('toGrpcStatus and fromGrpcError', () => {
  it('carries the gRPC code, message, registry code and details', () => {
    const s = toGrpcStatus(bgError('BG_UNKNOWN_MODEL', { modelId: 'abc' }));
    expect(s.code).toBe(status.NOT_FOUND);
    expect(s.details).toBe('unknown model "abc"');
    expect(s.metadata.get(GRPC_ERROR_CODE_KEY)).toEqual(['BG_UNKNOWN_MODEL']);
    const raw = s.metadata.get(GRPC_ERROR_DETAILS_KEY)[0] as Buffer;
    expect(JSON.parse(raw.toString('utf8'))).toEqual({ modelId: 'abc' });
  });

  it('turns any other error into INTERNAL "internal error"', () => {
    const s = toGrpcStatus(new TypeError('Cannot read properties of undefined'));
    expect([s.code, s.details, s.metadata.get(GRPC_ERROR_CODE_KEY)]).toEqual([status.INTERNAL, 'internal error', ['BG_INTERNAL']]);
    expect(s.metadata.get(GRPC_ERROR_DETAILS_KEY)).toEqual([]);
  });

  it('round-trips a Bundlegate error through gRPC metadata', () => {
    const original = bgError('BG_INVALID_SHAPE', { field: 'input', expected: '[1, 3]', got: [1, 4] });
    const s = toGrpcStatus(original);
    const back = fromGrpcError({ code: s.code, details: s.details, metadata: s.metadata });
    expect(back.code).toBe('BG_INVALID_SHAPE');
    expect(back.httpStatus).toBe(400);
    expect(back.message).toBe(original.message);
    expect(back.details).toEqual({ field: 'input', expected: '[1, 3]', got: [1, 4] });
  });

  it('classifies a foreign backend status', () => {
    const md = new Metadata();
    const call = (code: status, details: string) => fromGrpcError({ code, details, metadata: md }, { modelId: 'm' });
    expect(call(status.UNAVAILABLE, 'connect failed').code).toBe('BG_UPSTREAM_UNAVAILABLE');
    expect(call(status.DEADLINE_EXCEEDED, 'deadline').code).toBe('BG_UPSTREAM_TIMEOUT');
    const rejected = call(status.INVALID_ARGUMENT, 'Invalid number of inputs');
    expect([rejected.code, rejected.httpStatus, rejected.details]).toEqual([
      'BG_UPSTREAM_REJECTED',
      400,
      { modelId: 'm', upstreamStatus: 'INVALID_ARGUMENT', upstreamMessage: 'Invalid number of inputs' },
    ]);
    const failed = call(status.INTERNAL, 'CUDA out of memory');
    expect([failed.code, failed.httpStatus, failed.message]).toEqual([
      'BG_UPSTREAM_ERROR',
      502,
      'the backend failed (INTERNAL): CUDA out of memory',
    ]);
  });
});
