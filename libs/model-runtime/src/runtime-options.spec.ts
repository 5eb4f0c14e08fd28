import { resolveRuntimeOptions, sameRuntimeOptions } from './runtime-options';

describe('resolveRuntimeOptions', () => {
  it('defaults to one single-threaded session per core (THROUGHPUT), on workers unless the model proves tiny', () => {
    const { options, problems, warnings } = resolveRuntimeOptions({}, 2);
    expect(problems).toEqual([]);
    expect(warnings).toEqual([]);
    expect(options).toEqual({
      executor: 'auto',
      sessions: 2,
      intraOpThreads: 1,
      interOpThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      allowSpinning: true,
    });
  });

  it('stops idle threads spinning once threads outnumber cores, unless told otherwise', () => {
    expect(resolveRuntimeOptions({ nireq: 2, pluginConfig: { intra_op_num_threads: 2 } }, 2).options.allowSpinning).toBe(false);
    expect(resolveRuntimeOptions({ nireq: 2, pluginConfig: { intra_op_num_threads: 2, allow_spinning: '1' } }, 2).options.allowSpinning).toBe(true);
    expect(resolveRuntimeOptions({ pluginConfig: { PERFORMANCE_HINT: 'LATENCY', allow_spinning: false } }, 2).options.allowSpinning).toBe(false);
    expect(resolveRuntimeOptions({ pluginConfig: { allow_spinning: 'maybe' } }, 2).problems).toEqual([
      'plugin_config.allow_spinning must be true or false (or 1 / 0), got "maybe"',
    ]);
  });

  it('gives one session every core with PERFORMANCE_HINT LATENCY', () => {
    const { options } = resolveRuntimeOptions({ pluginConfig: { PERFORMANCE_HINT: 'LATENCY' } }, 4);
    expect(options.sessions).toBe(1);
    expect(options.intraOpThreads).toBe(4);
  });

  it('takes nireq as the number of sessions and splits the cores between them', () => {
    const { options } = resolveRuntimeOptions({ nireq: 2 }, 8);
    expect(options.sessions).toBe(2);
    expect(options.intraOpThreads).toBe(4);
  });

  it('reads OpenVINO and onnxruntime thread settings, strings included', () => {
    const ov = resolveRuntimeOptions({ pluginConfig: { NUM_STREAMS: '3', INFERENCE_NUM_THREADS: '2' } }, 8).options;
    expect([ov.sessions, ov.intraOpThreads]).toEqual([3, 2]);
    const ort = resolveRuntimeOptions(
      { nireq: 1, pluginConfig: { intra_op_num_threads: 3, inter_op_num_threads: 2, execution_mode: 'parallel', graph_optimization_level: 'basic' } },
      8,
    ).options;
    expect(ort).toMatchObject({ sessions: 1, intraOpThreads: 3, interOpThreads: 2, executionMode: 'parallel', graphOptimizationLevel: 'basic' });
  });

  it('runs one session on the event loop with executor inline, warning that nireq has no effect', () => {
    const { options, warnings } = resolveRuntimeOptions({ nireq: 4, pluginConfig: { executor: 'inline' } }, 2);
    expect(options.executor).toBe('inline');
    expect(options.sessions).toBe(1);
    expect(options.intraOpThreads).toBe(2);
    expect(warnings.join()).toContain('nireq 4');
  });

  it('warns about OpenVINO-only keys and reports every bad value at once', () => {
    const { warnings, problems } = resolveRuntimeOptions(
      { nireq: 0, pluginConfig: { CPU_BIND_THREAD: 'YES', NUM_STREAMS: 'many', PERFORMANCE_HINT: 'FAST', bogus: 1 } },
      2,
    );
    expect(warnings).toEqual(['plugin_config.CPU_BIND_THREAD is an OpenVINO setting; ONNX Runtime ignores it']);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('plugin_config.bogus is not a known setting'),
        expect.stringContaining('plugin_config.PERFORMANCE_HINT must be one of LATENCY, THROUGHPUT, got "FAST"'),
        expect.stringContaining('nireq must be a positive integer, got 0'),
        expect.stringContaining('plugin_config.NUM_STREAMS must be a positive integer, got "many"'),
      ]),
    );
  });

  it('tells a thread change from no change', () => {
    const a = resolveRuntimeOptions({}, 2).options;
    expect(sameRuntimeOptions(a, resolveRuntimeOptions({}, 2).options)).toBe(true);
    expect(sameRuntimeOptions(a, resolveRuntimeOptions({ nireq: 1 }, 2).options)).toBe(false);
  });
});
