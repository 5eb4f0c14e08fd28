import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { loadBundleFile } from '@bundlegate/bundle';
import type { IService } from 'kubernetes-models/v1';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import { parseAllDocuments } from 'yaml';
import { generateK8s, validateK8sObject } from './generate-k8s';
import { k8sCpu, k8sManifests, k8sMemory, type K8sObject } from './k8s';
import { demoTree, DEMO_IDS, readTree, REPO_ROOT, writeText } from './testing/fixtures';

const [ANOMALY] = DEMO_IDS;

function objectsOf(text: string): K8sObject[] {
  return parseAllDocuments(text).map((d) => d.toJS() as K8sObject);
}

describe('generate k8s for the demo bundle', () => {
  let root: string;
  let files: Map<string, string>;
  beforeAll(async () => {
    const tree = await demoTree();
    root = tree.root;
    const out = join(root, 'deploy', 'examples', 'k8s');
    await generateK8s({ bundlePath: tree.bundle, outDir: out, nodeBundleDir: '/srv/bundlegate/demo' });
    files = await readTree(out);
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('matches deploy/examples/k8s file for file (regenerate with `npm run examples -w @bundlegate/cli`)', async () => {
    const committed = await readTree(join(REPO_ROOT, 'deploy', 'examples', 'k8s'));
    expect([...files.keys()]).toEqual([...committed.keys()]);
    for (const [path, text] of files) expect(`${path}:\n${text}`).toBe(`${path}:\n${committed.get(path)}`);
  });

  it('writes objects that each validate against the Kubernetes schema of their kind', () => {
    const objects = [...files].filter(([f]) => f !== 'kustomization.yaml').flatMap(([, text]) => objectsOf(text));
    expect(objects.map((o) => `${o.kind}/${o.metadata?.name}`).sort()).toEqual([
      'ConfigMap/bundlegate-bundle',
      `Deployment/s${ANOMALY}s`,
      `Service/s${ANOMALY}s`,
      `Deployment/s${DEMO_IDS[1]}s`,
      `Service/s${DEMO_IDS[1]}s`,
      'Deployment/gateway',
      'Service/gateway',
      'Deployment/model-proxy',
      'Service/model-proxy',
    ].sort());
    for (const o of objects) expect(() => validateK8sObject(o)).not.toThrow();
  });

  it('has a validator that rejects a malformed object', () => {
    const deployment = objectsOf(files.get(`s${ANOMALY}s.yaml`) as string)[0] as IDeployment;
    const broken = structuredClone(deployment);
    (broken.spec as unknown as Record<string, unknown>)['replicas'] = 'two';
    expect(() => validateK8sObject(broken)).toThrow(/replicas/);
  });

  it('downloads each model in an init container and checks the KServe ready endpoint', () => {
    const [deployment, service] = objectsOf(files.get(`s${ANOMALY}s.yaml`) as string) as [IDeployment, IService];
    const pod = deployment.spec?.template.spec;
    expect(pod?.initContainers?.[0]?.args).toEqual(['--bundle', '/etc/bundlegate/bundle.yaml', '--model', ANOMALY, '--models-dir', '/models', '--deployment-dir', '/deployment']);
    expect(pod?.containers[0]?.readinessProbe?.httpGet).toEqual({ path: `/v2/models/${ANOMALY}/ready`, port: 'http' });
    expect(pod?.volumes?.find((v) => v.name === 'models')).toEqual({ name: 'models', emptyDir: {} });
    expect(pod?.volumes?.find((v) => v.name === 'bucket-1')?.hostPath).toEqual({ path: '/srv/bundlegate/demo/bucket/models', type: 'Directory' });
    expect(pod?.volumes?.find((v) => v.name === 'creds')?.secret).toEqual({ secretName: 'bundlegate-creds', optional: true });
    // headless: DNS answers every ready replica, and the gateway balances calls across them
    expect(service.spec?.clusterIP).toBe('None');
  });

  it('points the gateway at the bundle and the proxy at the gateway', () => {
    const [gateway, gatewayService] = objectsOf(files.get('gateway.yaml') as string) as [IDeployment, IService];
    expect(gateway.spec?.template.spec?.containers[0]?.args).toEqual(['--bundle', '/etc/bundlegate/bundle.yaml', '--port', '8080', '--rest_port', '8081']);
    expect(gatewayService.spec?.clusterIP).toBeUndefined();
    const [proxy] = objectsOf(files.get('model-proxy.yaml') as string) as [IDeployment];
    expect(proxy.spec?.template.spec?.containers[0]?.args).toEqual(['--signature', '/etc/bundlegate/bundle-signature.yaml', '--gateway', 'gateway:8080', '--http_port', '8000', '--grpc_port', '8005']);
  });

  it('lists every file in kustomization.yaml', () => {
    const kustomization = objectsOf(files.get('kustomization.yaml') as string)[0] as unknown as { resources: string[] };
    expect(kustomization.resources.sort()).toEqual([...files.keys()].filter((f) => f !== 'kustomization.yaml').sort());
  });
});

describe('k8sManifests for other engines', () => {
  it('uses an exec readiness check for TF Serving, replicas, GPU limits, and bucket sources without hostPath', async () => {
    const { root } = await demoTree();
    try {
      await writeText(join(root, 'b/bundle.yaml'), 'name: b\nsignature: s.yaml\nsource: gs://bucket/models\nmodels:\n  - id: tf\n    engine: tfserving\n    replicas: 2\n  - id: tr\n    engine: triton\n');
      await writeText(
        join(root, 'b/s.yaml'),
        'models:\n  x:\n    backendInferenceEngine: tfServing\n    models:\n      - id: tf\n        modelSgn: { inputs: [{ typeId: Scalar, params: { scalarInputKey: a } }], outputs: [{ typeId: Tensor, params: { keyName: b } }] }\n  y:\n    backendInferenceEngine: triton\n    models:\n      - id: tr\n        modelSgn: { inputs: [{ typeId: Scalar, params: { scalarInputKey: a } }], outputs: [{ typeId: Tensor, params: { keyName: b } }] }\n',
      );
      const loaded = await loadBundleFile(join(root, 'b/bundle.yaml'));
      const { files, warnings } = k8sManifests(loaded, '', { bundleLabel: 'b', gpus: new Set(['tr']) });
      const tf = files.get('stfs.yaml')?.[0] as IDeployment;
      const tr = files.get('strs.yaml')?.[0] as IDeployment;
      for (const objects of files.values()) for (const o of objects) expect(() => validateK8sObject(o)).not.toThrow();
      expect(tf.spec?.replicas).toBe(2);
      expect(tf.spec?.template.spec?.containers[0]?.readinessProbe?.exec?.command?.[2]).toContain('/v1/models/tf');
      expect(tf.spec?.template.spec?.containers[0]?.env).toEqual([{ name: 'MODEL_NAME', value: 'tf' }, { name: 'MODEL_BASE_PATH', value: '/models' }]);
      expect(tr.spec?.template.spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu']).toBe('1');
      expect(tf.spec?.template.spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
      expect(tf.spec?.template.spec?.volumes?.some((v) => v.hostPath !== undefined)).toBe(false);
      expect(warnings).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('unit conversion', () => {
  it('turns docker sizes and CPU counts into Kubernetes quantities', () => {
    expect(k8sMemory('512m')).toBe('512Mi');
    expect(k8sMemory('2g')).toBe('2Gi');
    expect(k8sMemory('1024')).toBe('1024');
    expect(k8sCpu('0.5')).toBe('500m');
    expect(k8sCpu('2')).toBe('2');
    expect(() => k8sMemory('lots')).toThrow(RangeError);
  });
});
