import { needsReload, parseServingConfig, ServingConfigError, singleModelConfig } from './serving-config';

const context = { baseDir: '/srv/config', cpus: 2 };

function problemsOf(text: string): readonly string[] {
  try {
    parseServingConfig(text, context);
  } catch (err) {
    if (err instanceof ServingConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected the config to be rejected');
}

describe('parseServingConfig', () => {
  it('reads an OVMS config.json with every model setting', () => {
    const config = parseServingConfig(
      JSON.stringify({
        model_config_list: [
          {
            config: {
              name: 'anomaly',
              base_path: '/models/anomaly',
              model_version_policy: { latest: { num_versions: 2 } },
              nireq: 1,
              target_device: 'CPU',
              plugin_config: { INFERENCE_NUM_THREADS: '2' },
            },
          },
          { config: { name: 'classifier', base_path: 'models/classifier' } },
        ],
      }),
      context,
    );
    expect(config.warnings).toEqual([]);
    expect(config.models.map((m) => m.name)).toEqual(['anomaly', 'classifier']);
    const [anomaly, classifier] = config.models;
    expect(anomaly).toMatchObject({
      basePath: '/models/anomaly',
      versionPolicy: { kind: 'latest', numVersions: 2 },
      runtime: { sessions: 1, intraOpThreads: 2 },
    });
    // relative base paths resolve against config.json's directory, as OVMS does
    expect(classifier?.basePath).toBe('/srv/config/models/classifier');
    expect(classifier?.versionPolicy).toEqual({ kind: 'latest', numVersions: 1 });
  });

  it('accepts OVMS-only settings with a warning so existing configs load unchanged', () => {
    const config = parseServingConfig(
      JSON.stringify({
        model_config_list: [{ config: { name: 'm', base_path: '/m', batch_size: '1', layout: 'NHWC' } }],
        pipeline_config_list: [{ name: 'p' }],
        monitoring: { metrics: { enable: true } },
      }),
      context,
    );
    expect(config.models).toHaveLength(1);
    expect(config.warnings).toEqual([
      'pipeline_config_list has 1 entries; onnx-serving serves models only and skips them',
      'model_config_list[0].config.batch_size is an OpenVINO setting; onnx-serving uses the model\'s own shapes and ignores it',
      'model_config_list[0].config.layout is an OpenVINO setting; onnx-serving uses the model\'s own shapes and ignores it',
    ]);
  });

  it('reports every problem of a broken config at once', () => {
    const problems = problemsOf(
      JSON.stringify({
        model_config_list: [
          { config: { name: 'a', base_path: '/a', model_version_policy: { newest: {} }, nireq: -1 } },
          { config: { name: 'a', base_path: 'gs://bucket/a', target_device: 'GPU', colour: 'red' } },
          { config: { base_path: '/c', plugin_config: { NUM_STREAMS: 'x' } } },
          { name: 'd' },
        ],
        extra: true,
      }),
    );
    expect(problems).toEqual([
      'unknown top-level key "extra"; expected "model_config_list"',
      'model_config_list[0].config.model_version_policy has unknown kind "newest"; expected "latest", "specific" or "all"',
      'model_config_list[0].config.nireq must be a positive integer, got -1',
      'model_config_list[1].config has unknown key "colour"',
      'model_config_list[1].config.name "a" is used by an earlier model',
      'model_config_list[1].config.base_path "gs://bucket/a" is remote storage; onnx-serving reads local directories (sync them with model-download)',
      'model_config_list[1].config.target_device must be "CPU" (onnx-serving runs ONNX Runtime\'s CPU provider), got "GPU"',
      expect.stringContaining('model_config_list[2].config.name must be 1-128 letters'),
      'model_config_list[3] must be {"config": {...}}',
    ]);
  });

  it('reports JSON syntax errors and a missing list', () => {
    expect(problemsOf('{"model_config_list": [')[0]).toMatch(/^not valid JSON/);
    expect(problemsOf('{}')).toEqual(['"model_config_list" must be an array of {"config": {...}}']);
    expect(problemsOf('[]')).toEqual(['the top level must be an object with "model_config_list"']);
  });

  it('takes plugin_config as a JSON string too', () => {
    const config = parseServingConfig(
      JSON.stringify({ model_config_list: [{ config: { name: 'm', base_path: '/m', plugin_config: '{"PERFORMANCE_HINT": "LATENCY"}' } }] }),
      context,
    );
    expect(config.models[0]?.runtime).toMatchObject({ sessions: 1, intraOpThreads: 2 });
  });
});

describe('singleModelConfig', () => {
  it('builds the one model of --model_name/--model_path', () => {
    const config = singleModelConfig({ name: 'resnet', basePath: 'models/resnet' }, { baseDir: '/work', cpus: 2 });
    expect(config.models[0]).toMatchObject({ name: 'resnet', basePath: '/work/models/resnet', runtime: { sessions: 2 } });
  });

  it('rejects a bad name and bad plugin settings together', () => {
    expect(() => singleModelConfig({ name: 'a/b', basePath: '/m', pluginConfig: { NUM_STREAMS: 0 } }, context)).toThrow(
      /model.name must be .*; model.plugin_config.NUM_STREAMS must be a positive integer, got 0/,
    );
  });
});

describe('needsReload', () => {
  it('reloads for a new base path or new threads, not for a new version policy', () => {
    const base = singleModelConfig({ name: 'm', basePath: '/m' }, context).models[0]!;
    const policy = singleModelConfig({ name: 'm', basePath: '/m', versionPolicy: { kind: 'all' } }, context).models[0]!;
    const threads = singleModelConfig({ name: 'm', basePath: '/m', nireq: 1 }, context).models[0]!;
    const moved = singleModelConfig({ name: 'm', basePath: '/n' }, context).models[0]!;
    expect(needsReload(base, policy)).toBe(false);
    expect(needsReload(base, threads)).toBe(true);
    expect(needsReload(base, moved)).toBe(true);
  });
});
