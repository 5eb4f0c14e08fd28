import { Writable } from 'node:stream';
import { bgError } from './errors';
import { loadConfig } from './config';
import { createLogger, isSecretKey, loggingSpec, scrubSecrets } from './logger';

const SENTINEL = 'S3CR3T-do-not-log-9f8e';

function capture(): { lines: () => Record<string, unknown>[]; raw: () => string; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return {
    stream,
    raw: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('createLogger', () => {
  it('writes JSON lines with level word, ISO time, service, module and request fields', () => {
    const out = capture();
    const root = createLogger({ service: 'gateway', level: 'debug', destination: out.stream });
    const log = root.child({ module: 'router' }).child({ reqId: 'r-1', modelId: 'm-1' });
    log.debug({ upstream: 's1s:9000' }, 'forwarded');
    root.trace('hidden below debug');
    const [line, ...rest] = out.lines();
    expect(rest).toEqual([]);
    expect(line).toMatchObject({
      level: 'debug',
      service: 'gateway',
      module: 'router',
      reqId: 'r-1',
      modelId: 'm-1',
      upstream: 's1s:9000',
      msg: 'forwarded',
    });
    expect(String(line?.time)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });

  it('never writes a secret, whatever shape it is logged in', () => {
    const out = capture();
    const root = createLogger({ service: 'model-download', level: 'trace', destination: out.stream });
    const child = root.child({ module: 's3', credentials: { accessKeyId: SENTINEL, secretAccessKey: SENTINEL } });
    child.info({ headers: { authorization: `Bearer ${SENTINEL}`, 'x-amz-security-token': SENTINEL } }, 'request');
    child.info({ req: { headers: { Authorization: `Basic ${SENTINEL}`, cookie: `sid=${SENTINEL}` } } }, 'nested');
    child.info({ env: { AWS_SECRET_ACCESS_KEY: SENTINEL, RCLONE_S3_SECRET_ACCESS_KEY: SENTINEL, AWS_SESSION_TOKEN: SENTINEL } });
    child.info({ env: { RCLONE_S3_ACCESS_KEY_ID: SENTINEL, MODEL_DECRYPTION_KEY: SENTINEL } }, 'env');
    // a GCS service-account file, parsed
    child.info({ a: { b: { c: { d: { private_key: SENTINEL, private_key_id: SENTINEL, client_email: 'sa@p.iam' } } } } });
    child.info({ list: [{ password: SENTINEL }, { apiKey: SENTINEL }, { client_secret: SENTINEL }] }, 'array');
    child.info({ source: `https://user:${SENTINEL}@bucket.example/models` }, `fetching https://u:${SENTINEL}@host/x`);
    child.info({ target: new URL(`s3://key:${SENTINEL}@bucket/prefix`) }, 'url object');
    // an HTTP client error carrying its request config, as gaxios and axios errors do
    const err = Object.assign(new Error('request failed'), {
      config: { headers: { Authorization: `Bearer ${SENTINEL}` }, url: 'https://storage.example/o' },
    });
    child.error({ err }, 'upstream failed');
    child.error(err);
    child.info({ config: { modelDecryptionKey: SENTINEL, s3: { secret_access_key: SENTINEL, token: SENTINEL } } });

    expect(out.lines()).toHaveLength(11);
    expect(out.raw()).not.toContain(SENTINEL);
    // what is not secret stays readable
    const lines = out.lines();
    expect(lines[4]).toMatchObject({ a: { b: { c: { d: { client_email: 'sa@p.iam', private_key: '[redacted]' } } } } });
    expect(lines[6]).toMatchObject({ source: 'https://user:[redacted]@bucket.example/models', msg: 'fetching https://u:[redacted]@host/x' });
    expect(lines[8]).toMatchObject({ err: { type: 'Error', message: 'request failed', config: { url: 'https://storage.example/o' } } });
    expect(lines[9]).toMatchObject({ msg: 'request failed', err: { config: { headers: { Authorization: '[redacted]' } } } });
  });

  it('keeps S3 object keys and model ids readable', () => {
    const out = capture();
    createLogger({ service: 's', destination: out.stream }).info({ key: 'models/m1/1/model.onnx', bucket: 'b', tokens: 3 }, 'put');
    expect(out.lines()[0]).toMatchObject({ key: 'models/m1/1/model.onnx', bucket: 'b', tokens: '[redacted]' });
  });

  it('logs a BgError with its code and details', () => {
    const out = capture();
    createLogger({ service: 's', destination: out.stream }).warn({ err: bgError('BG_UNKNOWN_MODEL', { modelId: 'x' }) }, 'rejected');
    expect(out.lines()[0]).toMatchObject({ err: { type: 'BgError', code: 'BG_UNKNOWN_MODEL', details: { modelId: 'x' } } });
  });
});

describe('scrubSecrets', () => {
  it('returns the same object when nothing is secret, a copy otherwise', () => {
    const clean = { a: 1, b: { c: [1, 2, { d: 'x' }] } };
    expect(scrubSecrets(clean)).toBe(clean);
    const dirty = { a: 1, b: { password: 'p' } };
    expect(scrubSecrets(dirty)).toEqual({ a: 1, b: { password: '[redacted]' } });
    expect(dirty.b.password).toBe('p');
  });

  it('recognises secret key spellings', () => {
    for (const k of ['password', 'secretAccessKey', 'x-api-key', 'AWS_SESSION_TOKEN', 'accessKeyId', 'Proxy-Authorization', 'set-cookie']) {
      expect([k, isSecretKey(k)]).toEqual([k, true]);
    }
    for (const k of ['key', 'modelId', 'bucket', 'tokenCount', 'signature', 'GOOGLE_CLOUD_PROJECT']) {
      expect([k, isSecretKey(k)]).toEqual([k, false]);
    }
  });

  it('survives cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(() => scrubSecrets(a)).not.toThrow();
  });
});

describe('loggingSpec', () => {
  it('gives every service --log_level and --log_pretty under its own env prefix', () => {
    const spec = loggingSpec('GATEWAY');
    expect(loadConfig(spec, { argv: [], env: {} })).toEqual({ logLevel: 'info', logPretty: false });
    expect(loadConfig(spec, { argv: ['--log-pretty'], env: { GATEWAY_LOG_LEVEL: 'DEBUG' } })).toEqual({
      logLevel: 'debug',
      logPretty: true,
    });
    expect(() => loadConfig(spec, { argv: ['--log_level', 'verbose'], env: {} })).toThrow(
      '--log_level / GATEWAY_LOG_LEVEL: "verbose" (from --log_level): expected one of fatal, error, warn, info, debug, trace, silent',
    );
  });
});
