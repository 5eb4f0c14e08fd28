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
  return {
    request(labels, ok, microseconds) {
      (ok ? success : fail).inc({ ...labels });
      requestTime.observe({ interface: labels.interface, name: labels.name, version: labels.version }, microseconds);
    },
    inference(name, version, microseconds) {
      inferenceTime.observe({ name, version }, microseconds);
    },
    current(name, version, delta) {
      current.inc({ name, version }, delta);
    },
  };
}
