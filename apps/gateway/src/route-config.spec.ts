import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BgError } from '@bundlegate/service-kit';
import { DEFAULT_CLUSTER_OPTIONS, loadBundleRoutes, parseRouteFlags, parseRoutesYaml } from './route-config';

const ROUTES = `
defaults:
  lbPolicy: least_request
  healthCheck: {kind: kserve, interval: 2s, timeout: 250ms}
  maxMessageSize: 100MiB
routes:
  - modelId: 6687ad3b04248f708c1e0c95
    endpoints:
      - "10.0.0.1:9000"
      - {address: "10.0.0.2:9000", rest: "10.0.0.2:8001"}
  - modelId: 6684168e04248f708c1e0c93
    cluster: tfs-photo
    endpoints: ["tfs:8500"]
    restEndpoints: ["tfs:8501"]
    lbPolicy: round_robin
    healthCheck: {kind: none}
    timeout: 30s
    maxAttempts: 1
    outlierDetection: {consecutiveFailures: 0}
`;

test('routes.yaml: defaults apply to every route, each route may override them', () => {
  const [a, b] = parseRoutesYaml(ROUTES, '/etc/gateway/routes.yaml');
  expect(a).toEqual({
    ...DEFAULT_CLUSTER_OPTIONS,
    modelId: '6687ad3b04248f708c1e0c95',
    cluster: 's6687ad3b04248f708c1e0c95s',
    endpoints: [
      { host: '10.0.0.1', port: 9000 },
      { host: '10.0.0.2', port: 9000 },
    ],
    restEndpoints: [{ host: '10.0.0.2', port: 8001 }],
    lbPolicy: 'least_request',
    healthCheck: { ...DEFAULT_CLUSTER_OPTIONS.healthCheck, kind: 'kserve', intervalMs: 2000, timeoutMs: 250 },
    maxMessageSize: 100 * 1024 * 1024,
  });
  expect(b).toMatchObject({
    cluster: 'tfs-photo',
    restEndpoints: [{ host: 'tfs', port: 8501 }],
    lbPolicy: 'round_robin',
    healthCheck: { kind: 'none', intervalMs: 2000 },
    timeoutMs: 30_000,
    maxAttempts: 1,
    outlier: { ...DEFAULT_CLUSTER_OPTIONS.outlier, consecutiveFailures: 0 },
    maxMessageSize: 100 * 1024 * 1024,
  });
});

test('routes.yaml: every problem at once, each with its path', () => {
  const bad = `
routes:
  - modelId: a
    endpoints: ["nohost", "h:99999"]
    lbPolicy: random
  - modelId: a
    endpoints: ["h:1"]
    healthcheck: {}
  - endpoints: []
`;
  let err: unknown;
  try {
    parseRoutesYaml(bad, 'routes.yaml');
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(BgError);
  expect((err as BgError<'BG_CONFIG_INVALID'>).details.problems).toEqual([
    'routes.yaml: routes[0].endpoints[0]: expected "host:port" (port 1..65535), got "nohost"',
    'routes.yaml: routes[0].endpoints[1]: expected "host:port" (port 1..65535), got "h:99999"',
    'routes.yaml: routes[0].lbPolicy: expected one of round_robin, least_request, got "random"',
    'routes.yaml: routes[1].healthcheck: unknown key; expected one of modelId, cluster, endpoints, restEndpoints, lbPolicy, healthCheck, outlierDetection, maxMessageSize, timeout, maxAttempts, tls',
    'routes.yaml: routes[1].modelId: duplicate model id "a"',
    'routes.yaml: routes[2].modelId: required: a non-empty string',
    'routes.yaml: routes[2].endpoints: expected a non-empty list of "host:port" or {address, rest}',
  ]);
});

test('--route and --rest_route flags', () => {
  const { routes, problems } = parseRouteFlags(['m1=127.0.0.1:9000,127.0.0.1:9001', 'm2=[::1]:9000'], ['m1=127.0.0.1:8001']);
  expect(problems).toEqual([]);
  expect(routes.map((r) => [r.modelId, r.endpoints, r.restEndpoints])).toEqual([
    ['m1', [{ host: '127.0.0.1', port: 9000 }, { host: '127.0.0.1', port: 9001 }], [{ host: '127.0.0.1', port: 8001 }]],
    ['m2', [{ host: '::1', port: 9000 }], []],
  ]);
  expect(parseRouteFlags(['m1', 'm2=x:1', 'm2=y:2'], ['m3=z:1']).problems).toEqual([
    '--route "m1": expected ID=HOST:PORT[,HOST:PORT…]',
    '--route "m2=y:2": model m2 is routed twice',
    '--rest_route "m3=z:1": model m3 has no --route',
  ]);
});

test('bundle.yaml: one route per model at s<id>s on the engine ports, ModelReady checks for KServe engines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-bundle-'));
  const file = join(dir, 'bundle.yaml');
  writeFileSync(
    file,
    'name: demo\nsignature: bundle-signature.yaml\nsource: file:///srv/bucket/models\nmodels:\n  - id: 6687ad3b04248f708c1e0c95\n    engine: onnx-serving\n  - id: 6684168e04248f708c1e0c93\n    engine: tfserving\n',
  );
  const routes = loadBundleRoutes(file);
  expect(routes.map((r) => [r.modelId, r.cluster, r.endpoints, r.restEndpoints, r.healthCheck.kind, r.healthCheck.model])).toEqual([
    ['6687ad3b04248f708c1e0c95', 's6687ad3b04248f708c1e0c95s', [{ host: 's6687ad3b04248f708c1e0c95s', port: 9000 }], [{ host: 's6687ad3b04248f708c1e0c95s', port: 8001 }], 'kserve', '6687ad3b04248f708c1e0c95'],
    ['6684168e04248f708c1e0c93', 's6684168e04248f708c1e0c93s', [{ host: 's6684168e04248f708c1e0c93s', port: 8500 }], [{ host: 's6684168e04248f708c1e0c93s', port: 8501 }], 'none', undefined],
  ]);
  expect(loadBundleRoutes(file, DEFAULT_CLUSTER_OPTIONS, '127.0.0.1')[0]?.endpoints).toEqual([{ host: '127.0.0.1', port: 9000 }]);
});
