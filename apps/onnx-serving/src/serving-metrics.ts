import type { Metrics } from '@bundlegate/service-kit';

// OVMS's metric names and labels, so dashboards built for OVMS work unchanged.

export type Api = 'KServe' | 'TensorFlowServing';
export type Interface = 'gRPC' | 'REST';

/** OVMS's microsecond buckets: 10 µs to ~56 s, four per decade. */
export const OVMS_TIME_BUCKETS_US: readonly number[] = Array.from({ length: 28 }, (_, i) => Math.round(10 * 10 ** (i / 4)));

export interface RequestLabels {
  readonly api: Api;
  readonly interface: Interface;
  readonly method: string;
  readonly name: string;
  readonly version: string;
}

export interface ServingMetrics {
  /** One finished model request: counts success or failure and its total time. */
  request(labels: RequestLabels, ok: boolean, microseconds: number): void;
  /** Time spent in onnxruntime for one request. */
  inference(name: string, version: string, microseconds: number): void;
  /** An inference request started (+1) or finished (-1) on a model version. */
  current(name: string, version: string, delta: 1 | -1): void;
}

/** prom-client hashes a label set on every call; the per-request path looks its series up once per label set. */
function cached<T>(make: (key: string) => T): (key: string) => T {
  const children = new Map<string, T>();
  return (key) => {
    let child = children.get(key);
    if (child === undefined) children.set(key, (child = make(key)));
    return child;
  };
}

export function createServingMetrics(metrics: Metrics): ServingMetrics {
  const labelNames = ['api', 'interface', 'method', 'name', 'version'] as const;
  const success = metrics.counter({ name: 'ovms_requests_success', help: 'Number of successful requests to a model or a DAG.', labelNames });
  const fail = metrics.counter({ name: 'ovms_requests_fail', help: 'Number of failed requests to a model or a DAG.', labelNames });
  const requestTime = metrics.histogram({
    name: 'ovms_request_time_us',
    help: 'Processing time of requests to a model or a DAG.',
    labelNames: ['interface', 'name', 'version'] as const,
    buckets: OVMS_TIME_BUCKETS_US,
  });
  const inferenceTime = metrics.histogram({
    name: 'ovms_inference_time_us',
    help: 'Inference execution time in the backend.',
    labelNames: ['name', 'version'] as const,
    buckets: OVMS_TIME_BUCKETS_US,
  });
  const current = metrics.gauge({ name: 'ovms_current_requests', help: 'Number of inference requests currently in process.', labelNames: ['name', 'version'] as const });

  // keys join label values with a character none of them can hold (model names and versions are [A-Za-z0-9_.-])
  const split = (key: string): string[] => key.split('\n');
  const successOf = cached((k) => {
    const [api = '', iface = '', method = '', name = '', version = ''] = split(k);
    return success.labels({ api, interface: iface, method, name, version });
  });
  const failOf = cached((k) => {
    const [api = '', iface = '', method = '', name = '', version = ''] = split(k);
    return fail.labels({ api, interface: iface, method, name, version });
  });
  const requestTimeOf = cached((k) => {
    const [iface = '', name = '', version = ''] = split(k);
    return requestTime.labels({ interface: iface, name, version });
  });
  const inferenceTimeOf = cached((k) => {
    const [name = '', version = ''] = split(k);
    return inferenceTime.labels({ name, version });
  });
  const currentOf = cached((k) => {
    const [name = '', version = ''] = split(k);
    return current.labels({ name, version });
  });

  return {
    request(labels, ok, microseconds) {
      const key = `${labels.api}\n${labels.interface}\n${labels.method}\n${labels.name}\n${labels.version}`;
      (ok ? successOf(key) : failOf(key)).inc();
      requestTimeOf(`${labels.interface}\n${labels.name}\n${labels.version}`).observe(microseconds);
    },
    inference(name, version, microseconds) {
      inferenceTimeOf(`${name}\n${version}`).observe(microseconds);
    },
    current(name, version, delta) {
      currentOf(`${name}\n${version}`).inc(delta);
    },
  };
}
