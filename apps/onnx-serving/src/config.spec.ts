import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServingConfigError } from '@bundlegate/model-runtime';
import { ConfigError, loadConfig } from '@bundlegate/service-kit';
import { configSpec, logLevelOf, resolveServing, validateConfig } from './config';

const load = (argv: string[], env: Record<string, string> = {}, cwd = '/srv') => loadConfig(configSpec, { argv, env, cwd, validate: validateConfig });

function problems(argv: string[]): string[] {
  try {
    load(argv);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => p.message);
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('onnx-serving settings', () => {
  it('takes OVMS flags with OVMS defaults for ports and polling', () => {
    const config = load(['--model_path', '/models/clf', '--model_name', 'clf']);
    expect(config).toMatchObject({ port: 9000, restPort: 8001, fileSystemPollWaitSeconds: 1, grpcMaxMessageSize: 100 * 1024 * 1024 });
    expect(load(['--model_path=/m', '--model-name', 'm', '--port', '0', '--rest_port', '0', '--log_level', 'WARNING'])).toMatchObject({ port: 0, restPort: 0 });
    expect(logLevelOf(load(['--model_path=/m', '--model_name=m', '--log_level', 'WARNING']))).toBe('warn');
    expect(load([], { ONNX_SERVING_MODEL_PATH: '/m', ONNX_SERVING_MODEL_NAME: 'm', ONNX_SERVING_GRPC_PORT: '9100' }).port).toBe(9100);
  });

  it('needs exactly one model source', () => {
    expect(problems([])).toEqual(['nothing to serve: set --config_path, or --model_path with --model_name']);
    expect(problems(['--model_path', '/m'])).toEqual(['--model_path and --model_name go together: set both']);
  });

  it('reports every bad flag at once', () => {
    expect(problems(['--model_path', '/m', '--model_name', 'm', '--port', '70000', '--nireq', '0', '--grpc_max_message_size', 'lots', '--rest_prot', '1'])).toEqual([
      expect.stringContaining('unknown flag; did you mean --rest_port?'),
      'expected an integer 1..256',
      'expected an integer 0..65535',
      expect.stringContaining('expected a size like 100MiB'),
    ]);
  });
});

describe('resolveServing', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'onnx-serving-config-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('builds the single model from flags, JSON flags included', async () => {
    const options = await resolveServing(
      load(['--model_path', 'models/clf', '--model_name', 'clf', '--model_version_policy', '{"all": {}}', '--plugin_config', '{"PERFORMANCE_HINT": "LATENCY"}', '--file_system_poll_wait_seconds', '0']),
    );
    expect(options.serving.models[0]).toMatchObject({ name: 'clf', basePath: '/srv/models/clf', versionPolicy: { kind: 'all' }, runtime: { sessions: 1 } });
    expect(options.pollIntervalMs).toBe(0);
    expect(options.grpc).toEqual({ host: '0.0.0.0', port: 9000, maxMessageBytes: 100 * 1024 * 1024, flowControlWindow: 8 * 1024 * 1024 });
  });

  it('reads config.json and keeps its text for change detection', async () => {
    const file = join(dir, 'config.json');
    const text = JSON.stringify({ model_config_list: [{ config: { name: 'a', base_path: 'a' } }] });
    await writeFile(file, text);
    const options = await resolveServing(load(['--config_path', file]));
    expect(options.serving.models.map((m) => m.basePath)).toEqual([join(dir, 'a')]);
    expect(options.configText).toBe(text);
    expect(options.configFile).toBe(file);
  });

  it('refuses single-model flags beside config.json, and bad JSON in flags', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, '{"model_config_list": []}');
    expect(problems(['--config_path', file, '--nireq', '2'])).toEqual(['--nireq applies to --model_path; with --config_path set it in config.json']);
    await expect(resolveServing(load(['--model_path', '/m', '--model_name', 'm', '--model_version_policy', '{latest}', '--plugin_config', '[1]']))).rejects.toThrow(ServingConfigError);
    await expect(resolveServing(load(['--model_path', '/m', '--model_name', 'm', '--model_version_policy', '{"newest": {}}']))).rejects.toThrow(
      '--model_version_policy has unknown kind "newest"',
    );
  });
});
