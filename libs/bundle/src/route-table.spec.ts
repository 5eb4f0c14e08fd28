import { parseBundle } from './bundle-manifest';
import { routeTable } from './route-table';

const bundle = parseBundle(
  [
    'name: demo',
    'signature: s.yaml',
    'source: gs://bucket/models',
    'models:',
    '  - {id: a1, engine: ovms}',
    '  - {id: b2, engine: onnx-serving}',
    '  - {id: c3, engine: triton}',
    '  - {id: d4, engine: tfserving}',
    '',
  ].join('\n'),
  '/deploy/bundle.yaml',
);

describe('routeTable', () => {
  it('routes each model to s<id>s on its engine default ports', () => {
    expect(routeTable(bundle)).toEqual([
      { modelId: 'a1', cluster: 'sa1s', engine: 'ovms', protocol: 'kserve-v2', endpoints: [{ host: 'sa1s', port: 9000 }], restEndpoints: [{ host: 'sa1s', port: 8001 }] },
      { modelId: 'b2', cluster: 'sb2s', engine: 'onnx-serving', protocol: 'kserve-v2', endpoints: [{ host: 'sb2s', port: 9000 }], restEndpoints: [{ host: 'sb2s', port: 8001 }] },
      { modelId: 'c3', cluster: 'sc3s', engine: 'triton', protocol: 'kserve-v2', endpoints: [{ host: 'sc3s', port: 8001 }], restEndpoints: [{ host: 'sc3s', port: 8000 }] },
      { modelId: 'd4', cluster: 'sd4s', engine: 'tfserving', protocol: 'tfs-predict', endpoints: [{ host: 'sd4s', port: 8500 }], restEndpoints: [{ host: 'sd4s', port: 8501 }] },
    ]);
  });

  it('takes hosts from hostFor', () => {
    const routes = routeTable(bundle, { hostFor: (id) => `${id}.models.svc.cluster.local` });
    expect(routes[2]?.endpoints).toEqual([{ host: 'c3.models.svc.cluster.local', port: 8001 }]);
    expect(routes[2]?.cluster).toBe('sc3s');
  });

  it('lets local runs put every model on 127.0.0.1 with its own ports', () => {
    const ports = new Map([
      ['a1', 41001],
      ['b2', 41002],
      ['c3', 41003],
      ['d4', 41004],
    ]);
    const routes = routeTable(bundle, {
      endpointsFor: (model, defaults) =>
        model.id === 'd4'
          ? undefined
          : { endpoints: [{ host: '127.0.0.1', port: ports.get(model.id) ?? 0 }], restEndpoints: defaults.restEndpoints },
    });
    expect(routes.map((r) => [r.modelId, r.endpoints, r.restEndpoints[0]?.port])).toEqual([
      ['a1', [{ host: '127.0.0.1', port: 41001 }], 8001],
      ['b2', [{ host: '127.0.0.1', port: 41002 }], 8001],
      ['c3', [{ host: '127.0.0.1', port: 41003 }], 8000],
      ['d4', [{ host: 'sd4s', port: 8500 }], 8501],
    ]);
  });

  it('rejects endpoints no socket can reach', () => {
    expect(() => routeTable(bundle, { endpointsFor: () => ({ endpoints: [{ host: '127.0.0.1', port: 0 }], restEndpoints: [] }) })).toThrow(
      'model a1: endpoint port must be an integer in 1..65535, got 0',
    );
    expect(() => routeTable(bundle, { endpointsFor: () => ({ endpoints: [], restEndpoints: [] }) })).toThrow(RangeError);
    expect(() => routeTable(bundle, { hostFor: () => '' })).toThrow('model a1: endpoint host must be a non-empty string');
  });
});
