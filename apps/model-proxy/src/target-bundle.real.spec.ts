import { join } from 'node:path';
import { loadSignatureFile, type BundleSignature } from '@bundlegate/bundle';
import { loadConfig } from '@bundlegate/service-kit';
import { gridModel, sizeClassifier, startTestBackend, type TestBackend } from '../test/backend-server';
import { FIXTURES, startProxy, type RunningProxy } from '../test/proxy-harness';
import { MODEL_PROXY_CONFIG } from './config';
import { selectBundle, TargetBundleError } from './target-bundle';

// `--target-bundle`: one bundle out of a multi-bundle signature, as existing deployments' proxy serves it.

const VISUAL = '6687ad3b04248f708c1e0c95';
const FRAUD = '6684168e04248f708c1e0c93';
const SIGNATURE = join(FIXTURES, 'existing-deployment-signature.yaml');

let signature: BundleSignature;
let backend: TestBackend;
let running: RunningProxy;

beforeAll(async () => {
  signature = await loadSignatureFile(SIGNATURE);
  backend = await startTestBackend({ [VISUAL]: gridModel(14, 14, 768, 'output'), [FRAUD]: sizeClassifier('label', 'probability') });
  running = await startProxy(selectBundle(signature, 'photo-fraud-classifier'), backend.address, { deadlineMs: 1000 });
});

afterAll(async () => {
  await running.close();
  await backend.close();
});

describe('--target-bundle', () => {
  it('is a flag and an environment variable, spelled as existing deployments spell it', () => {
    const base = ['--signature', SIGNATURE];
    expect(loadConfig(MODEL_PROXY_CONFIG, { argv: [...base, '--target-bundle', 'visual-anomaly'], env: {} }).targetBundle).toBe('visual-anomaly');
    expect(loadConfig(MODEL_PROXY_CONFIG, { argv: base, env: { MODEL_PROXY_TARGET_BUNDLE: 'photo-fraud-classifier' } }).targetBundle).toBe(
      'photo-fraud-classifier',
    );
    expect(loadConfig(MODEL_PROXY_CONFIG, { argv: base, env: {} }).targetBundle).toBeUndefined();
  });

  it('lists only that bundle at /api/v1/config', async () => {
    const config = (await (await fetch(`${running.http}/api/v1/config`)).json()) as { bundles: { name: string; models: { id: string; ready: boolean }[] }[] };
    expect(config.bundles.map((b) => [b.name, b.models.map((m) => [m.id, m.ready])])).toEqual([['photo-fraud-classifier', [[FRAUD, true]]]]);
  });

  it('answers for its models and not for the other bundles', async () => {
    const other = await fetch(`${running.http}/api/v1/models/${VISUAL}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs": {}}',
    });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('BG_UNKNOWN_MODEL');
    expect(backend.calls.some((c) => c.modelName === VISUAL)).toBe(false);
  });

  it('names the bundles there are when the name is not one of them', () => {
    expect(() => selectBundle(signature, 'photo-fraud')).toThrow(TargetBundleError);
    expect(() => selectBundle(signature, 'photo-fraud')).toThrow(
      `--target-bundle photo-fraud: ${SIGNATURE} has no bundle "photo-fraud"; its bundles: visual-anomaly, photo-fraud-classifier`,
    );
  });
});
