import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  bool,
  bytes,
  duration,
  filePath,
  hostPort,
  int,
  list,
  number,
  oneOf,
  positional,
  secret,
  string,
  url,
  parseHostPort,
} from './config-fields';
import { ConfigError, configOrExit, describeConfig, helpText, loadConfig, wantsHelp } from './config';
import { isBgError } from './errors';

const spec = {
  port: int({ flag: 'port', env: 'GW_GRPC_PORT', default: 8080, min: 0, max: 65535, help: 'gRPC port.' }),
  restPort: int({ flag: 'rest_port', env: 'GW_REST_PORT', default: 8081, min: 0, max: 65535, help: 'REST port.' }),
  host: string({ flag: 'host', env: 'GW_HOST', default: '0.0.0.0', help: 'Bind address.' }),
  ratio: number({ flag: 'ratio', env: 'GW_RATIO', min: 0, max: 1, help: 'A ratio.' }),
  verbose: bool({ flag: 'verbose', env: 'GW_VERBOSE', help: 'Chatty.' }),
  engine: oneOf({ flag: 'engine', env: 'GW_ENGINE', values: ['ovms', 'triton'], default: 'ovms', help: 'Engine.' }),
  timeout: duration({ flag: 'timeout', env: 'GW_TIMEOUT', default: '30s', min: 1, help: 'Upstream timeout.' }),
  maxMessage: bytes({ flag: 'max_message', env: 'GW_MAX_MESSAGE', default: '100MiB', help: 'Largest message.' }),
  route: list({ flag: 'route', env: 'GW_ROUTES', separator: ';', help: 'ID=HOST:PORT[,HOST:PORT].' }),
  source: url({ flag: 'source', env: 'GW_SOURCE', protocols: ['gs', 's3', 'file'], help: 'Bucket URL.' }),
  gateway: hostPort({ flag: 'gateway', env: 'GW_UPSTREAM', default: 'localhost:8080', help: 'Upstream.' }),
  accessKey: secret({ env: 'GW_SECRET_ACCESS_KEY', help: 'S3 secret.' }),
  modelName: string({ flag: 'model_name', env: 'GW_MODEL_NAME', required: true, help: 'Model name.' }),
};

const base = { argv: ['--model_name', 'm1'], env: {} };

describe('loadConfig precedence and types', () => {
  it('uses defaults when nothing is set', () => {
    const c = loadConfig(spec, base);
    expect(c).toEqual({
      port: 8080,
      restPort: 8081,
      host: '0.0.0.0',
      ratio: undefined,
      verbose: false,
      engine: 'ovms',
      timeout: 30_000,
      maxMessage: 100 * 1024 * 1024,
      route: [],
      source: undefined,
      gateway: { host: 'localhost', port: 8080 },
      accessKey: undefined,
      modelName: 'm1',
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('accepts snake_case and kebab-case, --flag=value and --flag value', () => {
    const c = loadConfig(spec, {
      env: {},
      argv: ['--rest_port=9001', '--port', '9000', '--model-name=m2', '--max-message', '1GiB', '--timeout=500ms'],
    });
    expect([c.port, c.restPort, c.modelName, c.maxMessage, c.timeout]).toEqual([9000, 9001, 'm2', 1024 ** 3, 500]);
  });

  it('takes flags over env over .env files over defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    writeFileSync(join(dir, 'first.env'), 'GW_REST_PORT=7001\nGW_HOST=from-first\nGW_RATIO=0.25\n');
    writeFileSync(join(dir, 'second.env'), 'GW_HOST=from-second\nGW_ENGINE=triton\n');
    const c = loadConfig(spec, {
      argv: ['--model_name', 'm', '--port', '1'],
      env: { GW_GRPC_PORT: '2', GW_REST_PORT: '3', GW_HOST: '' },
      envFiles: ['first.env', 'second.env', 'missing.env'],
      cwd: dir,
    });
    expect(c.port).toBe(1); // flag beats env
    expect(c.restPort).toBe(3); // env beats .env
    expect(c.host).toBe('from-first'); // empty env counts as unset; first file wins
    expect(c.engine).toBe('triton'); // later file fills what earlier ones lack
    expect(c.ratio).toBe(0.25);
  });

  it('parses booleans as switches, negations and words', () => {
    expect(loadConfig(spec, { ...base, argv: [...base.argv, '--verbose'] }).verbose).toBe(true);
    expect(loadConfig(spec, { ...base, argv: [...base.argv, '--verbose=false'] }).verbose).toBe(false);
    expect(loadConfig(spec, { argv: [...base.argv, '--no-verbose'], env: { GW_VERBOSE: 'yes' } }).verbose).toBe(false);
    expect(loadConfig(spec, { ...base, env: { GW_VERBOSE: 'on' } }).verbose).toBe(true);
  });

  it('collects repeatable flags one item each and splits env lists on the separator', () => {
    const fromFlags = loadConfig(spec, { ...base, argv: [...base.argv, '--route', 'a=h1:1,h2:2', '--route=b=h3:3'] });
    expect(fromFlags.route).toEqual(['a=h1:1,h2:2', 'b=h3:3']);
    const fromEnv = loadConfig(spec, { ...base, env: { GW_ROUTES: 'a=h1:1,h2:2; b=h3:3;' } });
    expect(fromEnv.route).toEqual(['a=h1:1,h2:2', 'b=h3:3']);
  });

  it('parses list items with the item parser and reports the bad item', () => {
    const s = { ids: list({ flag: 'id', env: 'IDS', item: (raw) => Number.parseInt(raw, 10), help: 'ids' }) };
    expect(loadConfig(s, { argv: [], env: { IDS: '1,2,3' } }).ids).toEqual([1, 2, 3]);
    const s2 = {
      ids: list({
        flag: 'id',
        env: 'IDS',
        help: 'ids',
        item: (raw) => {
          const hp = parseHostPort(raw);
          if (!hp) throw new Error('expected host:port');
          return hp;
        },
      }),
    };
    expect(() => loadConfig(s2, { argv: ['--id', 'a:1', '--id', 'nope'], env: {} })).toThrow(
      '--id / IDS: "a:1, nope" (from --id): item "nope": expected host:port',
    );
  });

  it('parses host:port including IPv6 and rejects ports out of range', () => {
    expect(loadConfig(spec, { ...base, env: { GW_UPSTREAM: '[::1]:9000' } }).gateway).toEqual({ host: '::1', port: 9000 });
    expect(() => loadConfig(spec, { ...base, env: { GW_UPSTREAM: 'host:70000' } })).toThrow('expected host:port');
  });

  it('checks url schemes', () => {
    expect(loadConfig(spec, { ...base, env: { GW_SOURCE: 's3://bucket/models' } }).source).toBe('s3://bucket/models');
    expect(() => loadConfig(spec, { ...base, env: { GW_SOURCE: 'http://x/y' } })).toThrow(
      'expected a gs:// or s3:// or file:// URL',
    );
  });

  it('resolves paths and checks they exist when asked', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    mkdirSync(join(dir, 'models'));
    writeFileSync(join(dir, 'bundle.yaml'), 'name: demo\n');
    const s = {
      bundle: filePath({ flag: 'bundle', env: 'B', mustExist: 'file', help: 'b' }),
      models: filePath({ flag: 'models_dir', env: 'M', mustExist: 'dir', help: 'm' }),
    };
    const c = loadConfig(s, { argv: ['--bundle', 'bundle.yaml', '--models_dir', 'models'], env: {}, cwd: dir });
    expect(c).toEqual({ bundle: join(dir, 'bundle.yaml'), models: join(dir, 'models') });
    expect(() => loadConfig(s, { argv: ['--bundle', 'models', '--models_dir', 'bundle.yaml'], env: {}, cwd: dir })).toThrow(
      ConfigError,
    );
  });

  it('takes positional arguments in spec order', () => {
    const s = {
      key: filePath({ flag: 'key', env: 'KEY_FILE', help: 'key' }),
      input: positional({ name: 'IN', required: true, help: 'plain file' }),
      output: positional({ name: 'OUT', help: 'encrypted file' }),
    };
    const c = loadConfig(s, { argv: ['a.onnx', '--key', '/k', 'a.onnx.enc'], env: {} });
    expect([c.input, c.output, c.key]).toEqual(['a.onnx', 'a.onnx.enc', '/k']);
    expect(() => loadConfig(s, { argv: [], env: {} })).toThrow('IN: required: give IN');
    expect(() => loadConfig(s, { argv: ['a', 'b', 'c'], env: {} })).toThrow('"c" (from argument): unexpected argument');
  });
});

describe('loadConfig problems', () => {
  function problemsOf(fn: () => unknown): string[] {
    try {
      fn();
    } catch (err) {
      if (err instanceof ConfigError) return err.problems.map((p) => `${p.flag ?? ''}|${p.env ?? ''}|${p.message}`);
      throw err;
    }
    throw new Error('expected a ConfigError');
  }

  it('reports every problem at once, each naming flag and env variable', () => {
    const problems = problemsOf(() =>
      loadConfig(spec, {
        argv: ['--port', '70000', '--bogus', 'x', '--engine', 'tfs', '--rest_port=1', '--rest-port=2', '--timeout', '30'],
        env: { GW_RATIO: '2', GW_MAX_MESSAGE: '12 parsecs' },
      }),
    );
    expect(problems).toEqual([
      '--bogus||unknown flag',
      '--rest_port|GW_REST_PORT|given 2 times; give it once',
      '--port|GW_GRPC_PORT|expected an integer 0..65535',
      '--ratio|GW_RATIO|expected a number 0..1',
      '--engine|GW_ENGINE|expected one of ovms, triton',
      '--timeout|GW_TIMEOUT|expected a duration like 30s or 500ms >= 1ms',
      '--max_message|GW_MAX_MESSAGE|expected a size like 100MiB or 4096',
      '--model_name|GW_MODEL_NAME|required: set --model_name or GW_MODEL_NAME',
    ]);
  });

  it('formats a problem with the value, where it came from and what was expected', () => {
    try {
      loadConfig(spec, { ...base, env: { GW_GRPC_PORT: 'http' } });
      throw new Error('unreachable');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect(isBgError(err) && err.code).toBe('BG_CONFIG_INVALID');
      expect((err as ConfigError).details.problems).toEqual([
        '--port / GW_GRPC_PORT: "http" (from GW_GRPC_PORT): expected an integer 0..65535',
      ]);
    }
  });

  it('suggests the closest flag for a typo and flags a missing value', () => {
    expect(problemsOf(() => loadConfig(spec, { argv: ['--model_nam', 'x', '--port'], env: {} }))).toEqual([
      '--model_nam||unknown flag; did you mean --model_name?',
      '--port|GW_GRPC_PORT|needs a value (int 0..65535)',
      '--model_name|GW_MODEL_NAME|required: set --model_name or GW_MODEL_NAME',
    ]);
  });

  it('never shows a secret value in a problem', () => {
    const s = { token: secret({ flag: 'token', env: 'TOKEN', help: 't' }), n: int({ flag: 'n', env: 'N', help: 'n' }) };
    try {
      loadConfig(s, { argv: ['--token', 'hunter2-value', '--token', 'hunter2-value'], env: {} });
      throw new Error('unreachable');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect(JSON.stringify((err as ConfigError).problems)).not.toContain('hunter2');
      expect((err as Error).message).not.toContain('hunter2');
    }
  });

  it('runs cross-field checks only once every field parsed', () => {
    const s = {
      modelPath: filePath({ flag: 'model_path', env: 'P', help: 'p' }),
      configPath: filePath({ flag: 'config_path', env: 'C', help: 'c' }),
    };
    const validate = (c: { modelPath?: string; configPath?: string }) =>
      c.modelPath === undefined && c.configPath === undefined ? ['give --model_path or --config_path'] : [];
    expect(problemsOf(() => loadConfig(s, { argv: [], env: {}, validate }))).toEqual(['||give --model_path or --config_path']);
    expect(loadConfig(s, { argv: ['--config_path', '/c.json'], env: {}, validate }).configPath).toBe('/c.json');
  });

  it('rejects a spec whose default does not parse or whose flags collide', () => {
    expect(() => duration({ flag: 'd', help: 'd', default: 'soon' })).toThrow(TypeError);
    expect(() => int({ flag: 'n', help: 'n', default: 5, max: 3 })).toThrow(TypeError);
    const s = { a: int({ flag: 'max_size', help: 'a' }), b: int({ flag: 'max-size', help: 'b' }) };
    expect(() => loadConfig(s, { argv: [], env: {} })).toThrow('declared twice');
  });
});

describe('help, dump and configOrExit', () => {
  it('generates help naming every flag, env variable, default and accepted values', () => {
    const text = helpText(spec, { name: 'gateway', summary: 'Routes gRPC by model-id.' });
    expect(text).toContain('Usage: gateway [options]');
    expect(text).toContain('--port <int 0..65535>  [env GW_GRPC_PORT; default 8080]\n      gRPC port.');
    expect(text).toContain('--engine <ovms|triton>  [env GW_ENGINE; default ovms]');
    expect(text).toContain('--model_name <string>  [env GW_MODEL_NAME; required]');
    expect(text).toContain('--route <list>  [env GW_ROUTES; repeatable]');
    expect(text).toContain('--verbose  [env GW_VERBOSE]');
    expect(text).toContain('  GW_SECRET_ACCESS_KEY=<secret> (env only)\n      S3 secret.');
    expect(wantsHelp(['--port', '1', '-h'])).toBe(true);
    expect(wantsHelp(['--', '--help'])).toBe(false);
  });

  it('dumps the config with secrets and URL credentials redacted', () => {
    const s = {
      ...spec,
      upstream: url({ flag: 'upstream', env: 'GW_UP', help: 'u' }),
    };
    const c = loadConfig(s, {
      argv: ['--model_name', 'm'],
      env: { GW_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI', GW_UP: 'https://user:pa55word@host/x?X-Amz-Signature=abc&a=1' },
    });
    const dump = describeConfig(c, s);
    expect(dump.accessKey).toBe('[redacted]');
    expect(dump.upstream).toBe('https://user:%5Bredacted%5D@host/x?X-Amz-Signature=%5Bredacted%5D&a=1');
    expect(dump.timeout).toBe('30s');
    expect(dump.maxMessage).toBe('100MiB');
    expect(dump.gateway).toBe('localhost:8080');
    expect(dump.ratio).toBeNull();
    expect(JSON.stringify(dump)).not.toMatch(/wJalrXUtnFEMI|pa55word|abc&/);
  });

  it('prints every problem to stderr and exits 2; prints help and exits 0', () => {
    const out: string[] = [];
    const err: string[] = [];
    const exit = (code: number): never => {
      throw Object.assign(new Error('exit'), { exitCode: code });
    };
    const run = (argv: string[]) => {
      try {
        configOrExit(spec, { name: 'gateway', argv, env: {}, exit, stdout: { write: (t) => out.push(t) }, stderr: { write: (t) => err.push(t) } });
        return 'returned';
      } catch (e) {
        return (e as { exitCode: number }).exitCode;
      }
    };
    expect(run(['--port', 'x', '--nope'])).toBe(2);
    expect(err.join('')).toBe(
      [
        'gateway: invalid configuration (3 problems):',
        '  - --nope: unknown flag',
        '  - --port / GW_GRPC_PORT: "x" (from --port): expected an integer 0..65535',
        '  - --model_name / GW_MODEL_NAME: required: set --model_name or GW_MODEL_NAME',
        'Run "gateway --help" for every setting.',
        '',
      ].join('\n'),
    );
    expect(run(['--help'])).toBe(0);
    expect(out.join('')).toContain('Usage: gateway [options]');
    expect(run(['--model_name', 'x'])).toBe('returned');
  });
});

describe('type inference from the spec', () => {
  it('gives required and defaulted fields non-optional types', () => {
    const c = loadConfig(spec, base);
    // compile-time: these assignments fail typecheck if inference regresses
    const port: number = c.port;
    const engine: 'ovms' | 'triton' = c.engine;
    const name: string = c.modelName;
    const routes: readonly string[] = c.route;
    // @ts-expect-error no default and not required: may be undefined
    const ratio: number = c.ratio;
    // @ts-expect-error misspelled option is rejected
    int({ flag: 'x', help: 'h', mni: 0 });
    // @ts-expect-error default outside the enum (and at run time a TypeError)
    expect(() => oneOf({ flag: 'x', help: 'h', values: ['a'], default: 'b' })).toThrow(TypeError);
    expect([port, engine, name, routes, ratio]).toEqual([8080, 'ovms', 'm1', [], undefined]);
  });
});
