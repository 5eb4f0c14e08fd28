import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Latency buckets in seconds for ms-scale inference: dense from 0.5 ms (a gateway hop) through
 * 5–250 ms (CPU inference of a vision model) and sparse up to 10 s (cold model, huge batch).
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Payload size buckets in bytes: 1 KiB (a number) to 64 MiB (a batch of raw images), ×4 apart. */
export const SIZE_BUCKETS_BYTES: readonly number[] = [1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];

export interface MetricsOptions {
  /** Added as label `service` to every series, default metrics included. */
  readonly service: string;
  /** Process metrics (CPU, memory, event-loop lag, GC); default true. */
  readonly defaultMetrics?: boolean;
}

export interface MetricOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames?: readonly L[];
}

export interface Metrics {
  /** The service's own registry: nothing goes to prom-client's global one. */
  readonly registry: Registry;
  counter<L extends string = never>(options: MetricOptions<L>): Counter<L>;
  gauge<L extends string = never>(options: MetricOptions<L>): Gauge<L>;
  /** Buckets default to LATENCY_BUCKETS_SECONDS: name latency histograms `*_seconds`. */
  histogram<L extends string = never>(options: MetricOptions<L> & { readonly buckets?: readonly number[] }): Histogram<L>;
  /** Prometheus text exposition and its content type, for `/metrics`. */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/** A registry for one service with its default metrics and helpers that register on it. */
export function createMetrics(options: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  return {
    registry,
    counter: (o) => new Counter({ name: o.name, help: o.help, labelNames: o.labelNames ?? [], registers: [registry] }),
    gauge: (o) => new Gauge({ name: o.name, help: o.help, labelNames: o.labelNames ?? [], registers: [registry] }),
    histogram: (o) =>
      new Histogram({
        name: o.name,
        help: o.help,
        labelNames: o.labelNames ?? [],
        buckets: [...(o.buckets ?? LATENCY_BUCKETS_SECONDS)],
        registers: [registry],
      }),
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
