import { BundleFileError } from './bundle-file-error';
import { parseBundle } from './bundle-manifest';
import {
  dockerMemoryBytes,
  OVMS_LOG_LEVELS,
  ovmsDevices,
  type OnnxServingOptions,
  type OnnxServingPluginConfig,
  type OvmsOptions,
  type TfServingBatching,
  type TfServingOptions,
  type TritonOptions,
} from './engine-options';
import { ovmsConfig } from './ovms-config';
import { BUNDLE_SCHEMA } from './schema-validator';
import { tfServingBatchingParameters, tfServingMonitoringConfig } from './tfserving-config';

function bundleText(...models: string[]): string {
  return ['name: demo', 'signature: s.yaml', 'source: gs://bucket/models', 'models:', ...models, ''].join('\n');
}

/** `[line, path, message]` of every issue of `text`. */
function problems(text: string): [number, string, string][] {
  try {
    parseBundle(text, 'bundle.yaml');
  } catch (error) {
    if (error instanceof BundleFileError) return error.issues.map((i) => [i.line, i.path, i.message]);
    throw error;
  }
  throw new Error('expected a BundleFileError');
}

const OVMS_MODEL = `  - id: ovms-model
    engine: ovms
    options:
      target_device: MULTI:GPU.1,CPU
      batch_size: auto
      shape: {input: [1, 3, -1, "200:500"], mask: auto}
      layout: {input: NHWC:NCHW, output: NC}
      nireq: 4
      plugin_config: {PERFORMANCE_HINT: LATENCY, NUM_STREAMS: 2, ENABLE_CPU_PINNING: true}
      model_version_policy: {latest: {num_versions: 2}}
      stateful: true
      idle_sequence_cleanup: false
      max_sequence_number: 100
      low_latency_transformation: true
      allow_cache: true
      metrics_enable: true
      metrics_list: [ovms_requests_success, ovms_infer_req_queue_size]
      file_system_poll_wait_seconds: 0`;

describe('engine options in bundle.yaml', () => {
  it('carries the shared settings, keeping environment values and arguments as written', () => {
    const bundle = parseBundle(
      bundleText(
        '  - id: a1',
        '    engine: triton',
        '    resources: {limits: {cpus: 4, memory: 8g}, reservations: {cpus: 0.5}}',
        '    gpus: 2',
        '    environment: {OMP_NUM_THREADS: 04, DEBUG: true, EMPTY: ""}',
        '    args: [--log-verbose, 1.50, "--id=x"]',
        '  - id: b2',
        '    engine: tfserving',
      ),
      'bundle.yaml',
    );
    const [a1, b2] = bundle.models;
    expect(a1).toMatchObject({
      resources: { cpuLimit: '4', memLimit: '8g', cpuReservation: '0.5' },
      gpus: 2,
      environment: { OMP_NUM_THREADS: '04', DEBUG: 'true', EMPTY: '' },
      args: ['--log-verbose', '1.50', '--id=x'],
    });
    expect(a1?.resources?.memReservation).toBeUndefined();
    // nothing written, nothing added: consumers keep their own defaults
    expect([b2?.resources, b2?.gpus, b2?.environment, b2?.args]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('accepts every option of every engine', () => {
    const text = bundleText(
      OVMS_MODEL,
      '      sequence_cleaner_poll_wait_minutes: 5',
      '      grpc_workers: 2',
      '      rest_workers: 8',
      '      log_level: DEBUG',
      '      log_path: /tmp/ovms.log',
      '      cache_dir: /opt/cache',
      '      cpu_extension: /opt/ext/libcustom.so',
      '      mount_devices: true',
      '  - id: onnx-model',
      '    engine: onnx-serving',
      '    options:',
      '      model_version_policy: {specific: {versions: [1, 3]}}',
      '      nireq: 3',
      '      target_device: CPU',
      '      plugin_config: {PERFORMANCE_HINT: THROUGHPUT, NUM_STREAMS: 2, CPU_THROUGHPUT_STREAMS: 2, INFERENCE_NUM_THREADS: 1, CPU_THREADS_NUM: 1,',
      '        intra_op_num_threads: 1, inter_op_num_threads: 1, execution_mode: sequential, graph_optimization_level: all, executor: worker}',
      '      file_system_poll_wait_seconds: 2',
      '      log_level: WARNING',
      '      grpc_max_message_size: 64MiB',
      '      rest_max_body_size: 1048576',
      '      max_image_pixels: 1000000',
      '      drain_timeout: 1m30s',
      '  - id: triton-model',
      '    engine: triton',
      '    options:',
      '      model-control-mode: poll',
      '      repository-poll-secs: 30',
      '      strict-readiness: true',
      '      exit-on-error: false',
      '      backend-config: {onnxruntime: {enable-global-threadpool: 1}, python: {shm-default-byte-size: 1048576}}',
      '      metrics-port: 9102',
      '      allow-metrics: true',
      '      allow-gpu-metrics: false',
      '      allow-cpu-metrics: true',
      '      metrics-interval-ms: 1000',
      '      log-verbose: 1',
      '      log-info: true',
      '      log-warning: true',
      '      log-error: true',
      '      log-format: ISO8601',
      '      http-thread-count: 8',
      '      model-load-thread-count: 2',
      '      pinned-memory-pool-byte-size: 268435456',
      '      cuda-memory-pool-byte-size: {0: 67108864, 1: 67108864}',
      '      exit-timeout-secs: 10',
      '      rate-limit: execution_count',
      '      buffer-manager-thread-count: 2',
      '  - id: tfs-model',
      '    engine: tfserving',
      '    options:',
      '      batching: {max_batch_size: 32, batch_timeout_micros: 1000, num_batch_threads: 4, max_enqueued_batches: 100,',
      '        thread_pool_name: batch, allowed_batch_sizes: [8, 16, 32], pad_variable_length_inputs: true}',
      '      monitoring: {prometheus_config: {enable: true}}',
      '      tensorflow_intra_op_parallelism: 4',
      '      tensorflow_inter_op_parallelism: 2',
      '      tensorflow_session_parallelism: 0',
      '      grpc_max_threads: 64',
      '      grpc_channel_arguments: {grpc.max_connection_age_ms: 2000}',
      '      enable_model_warmup: true',
      '      num_request_iterations_for_warmup: 3',
      '      file_system_poll_wait_seconds: 5',
      '      rest_api_num_threads: 16',
      '      rest_api_timeout_in_ms: 30000',
      '      rest_api_enable_cors_support: true',
      '      max_num_load_retries: 3',
      '      load_retry_interval_micros: 1000000',
      '      num_load_threads: 2',
      '      num_unload_threads: 1',
      '      flush_filesystem_caches: false',
      '      per_process_gpu_memory_fraction: 0.5',
      '      saved_model_tags: [serve, gpu]',
      '      xla_cpu_compilation_enabled: false',
      '      enable_signature_method_name_check: true',
      '      remove_unused_fields_from_bundle_metagraph: true',
    );
    const bundle = parseBundle(text, 'bundle.yaml');
    const defs = BUNDLE_SCHEMA['$defs'] as Record<string, { properties: object }>;
    const schemaKeys = ['ovmsOptions', 'onnxServingOptions', 'tritonOptions', 'tfservingOptions'].map((d) => Object.keys(defs[d]?.properties ?? {}).sort());
    expect(bundle.models.map((m) => Object.keys(m.options).sort())).toEqual(schemaKeys);
    // flag values stay text: a backend setting or channel argument is never turned into a number
    expect(bundle.models[2]?.options).toMatchObject({
      'backend-config': { onnxruntime: { 'enable-global-threadpool': '1' } },
    });
    expect(bundle.models[3]?.options).toMatchObject({
      grpc_channel_arguments: { 'grpc.max_connection_age_ms': '2000' },
    });
  });

  it.each([
    ['ovms', '      nireqs: 4', "models[0].options.nireqs: unknown field 'nireqs' (did you mean 'nireq'?)"],
    [
      'ovms',
      '      plugin_config: {performance_hint: LATENCY}',
      "models[0].options.plugin_config.performance_hint: invalid name 'performance_hint': OpenVINO property names are upper case",
    ],
    [
      'onnx-serving',
      '      plugin_config: {intra_op_num_thread: 2}',
      "models[0].options.plugin_config.intra_op_num_thread: unknown field 'intra_op_num_thread' (did you mean 'intra_op_num_threads'?)",
    ],
    ['onnx-serving', '      batch_size: 4', "models[0].options.batch_size: unknown field 'batch_size'; allowed: model_version_policy, nireq"],
    ['triton', '      strict-readyness: true', "models[0].options.strict-readyness: unknown field 'strict-readyness' (did you mean 'strict-readiness'?)"],
    [
      'triton',
      '      model_control_mode: poll',
      "models[0].options.model_control_mode: unknown field 'model_control_mode' (did you mean 'model-control-mode'?)",
    ],
    [
      'tfserving',
      '      batching: {max_batch_sizes: 8}',
      "models[0].options.batching.max_batch_sizes: unknown field 'max_batch_sizes' (did you mean 'max_batch_size'?)",
    ],
    ['tfserving', '      grpc_max_thread: 8', "models[0].options.grpc_max_thread: unknown field 'grpc_max_thread' (did you mean 'grpc_max_threads'?)"],
  ])('rejects a misspelled %s option at its line: %s', (engine, line, message) => {
    const found = problems(bundleText('  - id: m1', `    engine: ${engine}`, '    options:', line));
    expect(found).toHaveLength(1);
    expect(found[0]?.[0]).toBe(8);
    expect(`${found[0]?.[1]}: ${found[0]?.[2]}`).toContain(message);
  });

  it('rejects misspelled shared settings with a suggestion', () => {
    expect(problems(bundleText('  - id: m1', '    engine: ovms', '    resource: {limits: {cpus: 2}}', '    enviroment: {A: b}'))).toEqual([
      [7, 'models[0].resource', expect.stringMatching(/^unknown field 'resource' \(did you mean 'resources'\?\)/)],
      [8, 'models[0].enviroment', expect.stringMatching(/^unknown field 'enviroment' \(did you mean 'environment'\?\)/)],
    ]);
    expect(problems(bundleText('  - id: m1', '    engine: ovms', '    resources: {limits: {cpu: 2}}'))).toEqual([
      [7, 'models[0].resources.limits.cpu', expect.stringMatching(/^unknown field 'cpu' \(did you mean 'cpus'\?\)/)],
    ]);
  });

  it('checks values: device names, shapes, layouts, batch sizes, policies and metric names', () => {
    const found = problems(
      bundleText(
        '  - id: m1',
        '    engine: ovms',
        '    options:',
        '      target_device: MULTI:GPU;CPU',
        '      batch_size: automatic',
        '      shape: (1,3,,224)',
        '      layout: {input: nhwc}',
        '      model_version_policy: {latest: {num_versions: 1}, all: {}}',
        '      metrics_list: [ovms_request_success]',
      ),
    );
    expect(found).toEqual([
      [8, 'models[0].options.target_device', expect.stringMatching(/^'MULTI:GPU;CPU' is not valid: Device OVMS compiles the model for/)],
      [9, 'models[0].options.batch_size', expect.stringMatching(/^'automatic' is not valid: Batch size/)],
      [10, 'models[0].options.shape', expect.stringMatching(/^'\(1,3,,224\)' is not valid: A shape: auto, a tuple/)],
      [11, 'models[0].options.layout.input', expect.stringMatching(/^'nhwc' is not valid: A layout such as NCHW/)],
      [12, 'models[0].options.model_version_policy', 'give only one of: latest, specific, all'],
      [13, 'models[0].options.metrics_list', "only allowed together with 'metrics_enable'"],
      [13, 'models[0].options.metrics_list[0]', expect.stringMatching(/^'ovms_request_success' is not one of: .* \(did you mean 'ovms_requests_success'\?\)$/)],
    ]);
  });

  it('relates settings the schema cannot: version against a policy, ports, poll mode, batch sizes, reservations, devices', () => {
    expect(
      problems(
        bundleText(
          '  - id: m1',
          '    engine: onnx-serving',
          '    version: 2',
          '    options: {model_version_policy: {all: {}}}',
          '    resources: {limits: {cpus: 1, memory: 1g}, reservations: {cpus: "1.5", memory: 2g}}',
          '  - id: m2',
          '    engine: triton',
          '    options: {model-control-mode: explicit, repository-poll-secs: 5, metrics-port: 8001}',
          '  - id: m3',
          '    engine: tfserving',
          '    options: {batching: {max_batch_size: 32, allowed_batch_sizes: [8, 16]}}',
          '  - id: m4',
          '    engine: tfserving',
          '    options: {batching: {allowed_batch_sizes: [16, 8]}}',
          '  - id: m5',
          '    engine: ovms',
          '    options: {mount_devices: true}',
          '  - id: m6',
          '    engine: onnx-serving',
          '    options: {target_device: GPU}',
        ),
      ),
    ).toEqual([
      [8, 'models[0].options.model_version_policy', 'give version or options.model_version_policy, not both'],
      [9, 'models[0].resources.reservations.cpus', 'reserves 1.5 CPUs, more than the limit of 1'],
      [9, 'models[0].resources.reservations.memory', 'reserves 2g, more than the limit of 1g'],
      [12, 'models[1].options.repository-poll-secs', 'only with model-control-mode poll (it is explicit)'],
      [12, 'models[1].options.metrics-port', "8001 is Triton's gRPC port; pick another (default 8002)"],
      [15, 'models[2].options.batching.allowed_batch_sizes', 'must end with max_batch_size (32), not 16'],
      [18, 'models[3].options.batching.allowed_batch_sizes', 'must be increasing'],
      [21, 'models[4].options.mount_devices', expect.stringMatching(/^target_device CPU \(the default\) needs no device/)],
      [24, 'models[5].options.target_device', expect.stringMatching(/^'GPU' is not one of: CPU/)],
    ]);
  });
});

describe('ovmsConfig with options', () => {
  it('writes every OVMS model setting under the key OVMS documents, and the monitoring section', () => {
    const bundle = parseBundle(bundleText(OVMS_MODEL), '/deploy/bundle.yaml');
    expect(ovmsConfig(bundle)).toEqual({
      model_config_list: [
        {
          config: {
            name: 'ovms-model',
            base_path: '/models/ovms-model',
            target_device: 'MULTI:GPU.1,CPU',
            batch_size: 'auto',
            shape: { input: '(1,3,-1,200:500)', mask: 'auto' },
            layout: { input: 'NHWC:NCHW', output: 'NC' },
            nireq: 4,
            plugin_config: {
              PERFORMANCE_HINT: 'LATENCY',
              NUM_STREAMS: 2,
              ENABLE_CPU_PINNING: true,
            },
            model_version_policy: { latest: { num_versions: 2 } },
            stateful: true,
            idle_sequence_cleanup: false,
            max_sequence_number: 100,
            low_latency_transformation: true,
            allow_cache: true,
          },
        },
      ],
      monitoring: {
        metrics: {
          enable: true,
          metrics_list: ['ovms_requests_success', 'ovms_infer_req_queue_size'],
        },
      },
    });
  });

  it('turns a one-input shape list into a tuple and a pinned version into a specific policy', () => {
    const bundle = parseBundle(
      bundleText(
        '  - {id: a1, engine: ovms, version: 3, options: {shape: [1, 3, 224, 224], batch_size: 8}}',
        '  - {id: b2, engine: onnx-serving, options: {nireq: 2, plugin_config: {executor: inline}}}',
      ),
      '/deploy/bundle.yaml',
    );
    expect(ovmsConfig(bundle).model_config_list.map((e) => e.config)).toEqual([
      {
        name: 'a1',
        base_path: '/models/a1',
        batch_size: 8,
        shape: '(1,3,224,224)',
        model_version_policy: { specific: { versions: [3] } },
      },
      {
        name: 'b2',
        base_path: '/models/b2',
        nireq: 2,
        plugin_config: { executor: 'inline' },
      },
    ]);
    expect(ovmsConfig(bundle).monitoring).toBeUndefined();
  });
});

describe('TF Serving text protos', () => {
  it('writes BatchingParameters with wrapped scalars, repeated sizes and plain booleans', () => {
    expect(
      tfServingBatchingParameters({
        pad_variable_length_inputs: true,
        allowed_batch_sizes: [8, 16, 32],
        max_batch_size: 32,
        thread_pool_name: 'batch_threads',
        batch_timeout_micros: 0,
        num_batch_threads: 4,
        max_enqueued_batches: 100,
      }),
    ).toBe(
      [
        'max_batch_size { value: 32 }',
        'batch_timeout_micros { value: 0 }',
        'max_enqueued_batches { value: 100 }',
        'num_batch_threads { value: 4 }',
        'thread_pool_name { value: "batch_threads" }',
        'allowed_batch_sizes: 8',
        'allowed_batch_sizes: 16',
        'allowed_batch_sizes: 32',
        'pad_variable_length_inputs: true',
        '',
      ].join('\n'),
    );
    expect(tfServingBatchingParameters({})).toBe('');
  });

  it("writes a MonitoringConfig with TF Serving's default Prometheus path", () => {
    expect(tfServingMonitoringConfig({ prometheus_config: { enable: true } })).toBe(
      'prometheus_config {\n  enable: true\n  path: "/monitoring/prometheus/metrics"\n}\n',
    );
    expect(
      tfServingMonitoringConfig({
        prometheus_config: { enable: false, path: '/metrics' },
      }),
    ).toContain('path: "/metrics"');
  });
});

describe('helpers', () => {
  it('reads docker memory sizes and the devices of a target_device', () => {
    expect([dockerMemoryBytes('512m'), dockerMemoryBytes('2G'), dockerMemoryBytes('1024'), dockerMemoryBytes('2gb')]).toEqual([
      512 * 1024 ** 2,
      2 * 1024 ** 3,
      1024,
      undefined,
    ]);
    expect([ovmsDevices('GPU.1'), ovmsDevices('AUTO'), ovmsDevices('MULTI:GPU.0,GPU.1,CPU'), ovmsDevices('HETERO:NVIDIA,CPU')]).toEqual([
      ['GPU'],
      ['AUTO'],
      ['GPU', 'CPU'],
      ['NVIDIA', 'CPU'],
    ]);
  });
});

describe('option types and the JSON Schema', () => {
  // each literal must name every key of its type and no other, so the compiler checks one half
  const ovms: Record<keyof OvmsOptions, true> = {
    target_device: true,
    batch_size: true,
    shape: true,
    layout: true,
    nireq: true,
    plugin_config: true,
    model_version_policy: true,
    stateful: true,
    idle_sequence_cleanup: true,
    max_sequence_number: true,
    low_latency_transformation: true,
    allow_cache: true,
    metrics_enable: true,
    metrics_list: true,
    file_system_poll_wait_seconds: true,
    sequence_cleaner_poll_wait_minutes: true,
    grpc_workers: true,
    rest_workers: true,
    log_level: true,
    log_path: true,
    cache_dir: true,
    cpu_extension: true,
    mount_devices: true,
  };
  const onnx: Record<keyof OnnxServingOptions, true> = {
    model_version_policy: true,
    nireq: true,
    target_device: true,
    plugin_config: true,
    file_system_poll_wait_seconds: true,
    log_level: true,
    grpc_max_message_size: true,
    rest_max_body_size: true,
    max_image_pixels: true,
    drain_timeout: true,
  };
  const plugin: Record<keyof OnnxServingPluginConfig, true> = {
    PERFORMANCE_HINT: true,
    NUM_STREAMS: true,
    CPU_THROUGHPUT_STREAMS: true,
    INFERENCE_NUM_THREADS: true,
    CPU_THREADS_NUM: true,
    intra_op_num_threads: true,
    inter_op_num_threads: true,
    execution_mode: true,
    graph_optimization_level: true,
    executor: true,
  };
  const triton: Record<keyof TritonOptions, true> = {
    'model-control-mode': true,
    'repository-poll-secs': true,
    'strict-readiness': true,
    'exit-on-error': true,
    'backend-config': true,
    'metrics-port': true,
    'allow-metrics': true,
    'allow-gpu-metrics': true,
    'allow-cpu-metrics': true,
    'metrics-interval-ms': true,
    'log-verbose': true,
    'log-info': true,
    'log-warning': true,
    'log-error': true,
    'log-format': true,
    'http-thread-count': true,
    'model-load-thread-count': true,
    'pinned-memory-pool-byte-size': true,
    'cuda-memory-pool-byte-size': true,
    'exit-timeout-secs': true,
    'rate-limit': true,
    'buffer-manager-thread-count': true,
  };
  const tfs: Record<keyof TfServingOptions, true> = {
    batching: true,
    monitoring: true,
    tensorflow_intra_op_parallelism: true,
    tensorflow_inter_op_parallelism: true,
    tensorflow_session_parallelism: true,
    grpc_max_threads: true,
    grpc_channel_arguments: true,
    enable_model_warmup: true,
    num_request_iterations_for_warmup: true,
    file_system_poll_wait_seconds: true,
    rest_api_num_threads: true,
    rest_api_timeout_in_ms: true,
    rest_api_enable_cors_support: true,
    max_num_load_retries: true,
    load_retry_interval_micros: true,
    num_load_threads: true,
    num_unload_threads: true,
    flush_filesystem_caches: true,
    per_process_gpu_memory_fraction: true,
    saved_model_tags: true,
    xla_cpu_compilation_enabled: true,
    enable_signature_method_name_check: true,
    remove_unused_fields_from_bundle_metagraph: true,
  };
  const batching: Record<keyof TfServingBatching, true> = {
    max_batch_size: true,
    batch_timeout_micros: true,
    num_batch_threads: true,
    max_enqueued_batches: true,
    thread_pool_name: true,
    allowed_batch_sizes: true,
    pad_variable_length_inputs: true,
  };
  type Node = { properties?: Record<string, Node> };
  const defs = BUNDLE_SCHEMA['$defs'] as Record<string, Node>;
  const keys = (node: Node | undefined): string[] => Object.keys(node?.properties ?? {}).sort();

  it.each([
    ['ovmsOptions', ovms, defs['ovmsOptions']],
    ['onnxServingOptions', onnx, defs['onnxServingOptions']],
    ['onnxServingOptions.plugin_config', plugin, defs['onnxServingOptions']?.properties?.['plugin_config']],
    ['tritonOptions', triton, defs['tritonOptions']],
    ['tfservingOptions', tfs, defs['tfservingOptions']],
    ['tfservingOptions.batching', batching, defs['tfservingOptions']?.properties?.['batching']],
  ])('%s has the same fields in both', (_, typed, schema) => {
    expect(keys(schema)).toEqual(Object.keys(typed).sort());
  });

  it('allow the log levels OVMS names', () => {
    expect((defs['ovmsOptions']?.properties?.['log_level'] as { enum?: string[] }).enum).toEqual([...OVMS_LOG_LEVELS]);
  });
});
