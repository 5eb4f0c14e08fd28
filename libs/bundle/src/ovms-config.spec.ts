import { parseBundle } from './bundle-manifest';
import { ovmsConfig } from './ovms-config';

const bundle = parseBundle(
  [
    'name: demo',
    'signature: s.yaml',
    'source: file:///srv/bucket',
    'models:',
    '  - {id: a1, engine: ovms, version: 3}',
    '  - {id: b2, engine: triton}',
    '  - {id: c3, engine: onnx-serving}',
    '',
  ].join('\n'),
  '/deploy/bundle.yaml',
);

describe('ovmsConfig', () => {
  it('lists the OVMS-compatible models under /models, pinning versions', () => {
    expect(ovmsConfig(bundle)).toEqual({
      model_config_list: [
        { config: { name: 'a1', base_path: '/models/a1', model_version_policy: { specific: { versions: [3] } } } },
        { config: { name: 'c3', base_path: '/models/c3' } },
      ],
    });
  });

  it('takes another base path and engine selection', () => {
    expect(ovmsConfig(bundle, { basePathPrefix: '/tmp/run/models/', engines: ['onnx-serving'] })).toEqual({
      model_config_list: [{ config: { name: 'c3', base_path: '/tmp/run/models/c3' } }],
    });
  });

  it('serialises to the JSON OVMS reads', () => {
    expect(JSON.parse(JSON.stringify(ovmsConfig(bundle, { engines: ['onnx-serving'] })))).toEqual({
      model_config_list: [{ config: { name: 'c3', base_path: '/models/c3' } }],
    });
  });
});
