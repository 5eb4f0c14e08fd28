import { createMetrics, LATENCY_BUCKETS_SECONDS } from './metrics';

describe('createMetrics', () => {
  it('labels every series with the service, default metrics included', async () => {
    const m = createMetrics({ service: 'gateway' });
    const requests = m.counter({ name: 'bg_requests_total', help: 'Requests.', labelNames: ['model_id', 'code'] });
    requests.inc({ model_id: 'm1', code: 'OK' });
    requests.inc({ model_id: 'm1', code: 'OK' });
    const { contentType, body } = await m.scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(body).toContain('bg_requests_total{model_id="m1",code="OK",service="gateway"} 2');
    expect(body).toMatch(/^process_cpu_user_seconds_total\{service="gateway"\} /m);
    expect(body).toMatch(/^nodejs_eventloop_lag_seconds\{service="gateway"\} /m);
  });

  it('gives histograms the ms-scale latency buckets', async () => {
    const m = createMetrics({ service: 'onnx-serving', defaultMetrics: false });
    const latency = m.histogram({ name: 'bg_inference_seconds', help: 'Inference latency.', labelNames: ['model_id'] });
    latency.observe({ model_id: 'm1' }, 0.004);
    latency.observe({ model_id: 'm1' }, 0.2);
    const { body } = await m.scrape();
    expect(body).toContain('bg_inference_seconds_bucket{le="0.0025",service="onnx-serving",model_id="m1"} 0');
    expect(body).toContain('bg_inference_seconds_bucket{le="0.005",service="onnx-serving",model_id="m1"} 1');
    expect(body).toContain('bg_inference_seconds_bucket{le="0.25",service="onnx-serving",model_id="m1"} 2');
    expect(body).toContain('bg_inference_seconds_count{service="onnx-serving",model_id="m1"} 2');
    expect(body).not.toContain('process_cpu');
    const les = [...body.matchAll(/bg_inference_seconds_bucket\{le="([^"]+)"/g)].map((x) => x[1]);
    expect(les).toEqual([...LATENCY_BUCKETS_SECONDS.map(String), '+Inf']);
  });

  it('keeps services apart: each has its own registry', async () => {
    const a = createMetrics({ service: 'a', defaultMetrics: false });
    const b = createMetrics({ service: 'b', defaultMetrics: false });
    a.gauge({ name: 'bg_models_loaded', help: 'Models loaded.' }).set(3);
    b.gauge({ name: 'bg_models_loaded', help: 'Models loaded.' }).set(5);
    expect((await a.scrape()).body).toContain('bg_models_loaded{service="a"} 3');
    expect((await b.scrape()).body).toContain('bg_models_loaded{service="b"} 5');
  });
});
