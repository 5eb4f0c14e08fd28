import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { health } from '@bundlegate/protos';
import { toModelInferRequest } from '@bundlegate/tensors';
import { addVersion, ANOMALY, call, CLASSIFIER, clients, configJson, failure, startTestServer, waitFor, type ModelEntry, type TestServer } from '../test/harness';

const clf: ModelEntry = { name: 'clf', id: CLASSIFIER, versions: [1] };
const anomaly: ModelEntry = { name: 'anomaly', id: ANOMALY, versions: [1] };

describe('hot reload at the poll interval', () => {
  let t: TestServer;
  let c: ReturnType<typeof clients>;

  beforeEach(async () => {
    t = await startTestServer([clf], { pollIntervalMs: 100 });
    c = clients(t.grpcAddress);
  });

  afterEach(async () => {
    c.close();
    await t.close();
  });

  const versions = async (name: string): Promise<string[]> => (await call(c.kserve, c.kserve.modelMetadata, { name, version: '' })).versions;
  const infer = (modelName: string, modelVersion = '') =>
    call(
      c.kserve,
      c.kserve.modelInfer,
      toModelInferRequest({ modelName, modelVersion, inputs: [{ name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3], data: new Float32Array(12288) }] }),
    );

  it('serves a new version once it appears and drops a removed one', async () => {
    expect(await versions('clf')).toEqual(['1']);
    await addVersion(join(t.dir, 'clf'), 2, CLASSIFIER);
    await waitFor(async () => (await versions('clf')).join() === '2', 10_000, 'version 2 to replace version 1');
    expect((await infer('clf')).modelVersion).toBe('2');
    expect(await failure(infer('clf', '1'))).toMatchObject({ code: status.NOT_FOUND, bgCode: 'BG_UNKNOWN_VERSION' });
    await rm(join(t.dir, 'clf', '2'), { recursive: true });
    // version 1 is the latest again
    await waitFor(async () => (await versions('clf')).join() === '1', 10_000, 'version 1 to come back');
    expect((await infer('clf')).modelVersion).toBe('1');
  });

  it('answers every request in flight while a new version replaces the old one', async () => {
    await addVersion(join(t.dir, 'anomaly'), 1, ANOMALY);
    await t.writeConfig([clf, anomaly]);
    await waitFor(async () => (await call(c.kserve, c.kserve.modelReady, { name: 'anomaly', version: '' }).catch(() => ({ ready: false }))).ready, 10_000, 'anomaly to load');
    const request = toModelInferRequest({ modelName: 'anomaly', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 3, 224, 224], data: new Float32Array(150528).fill(0.5) }] });
    const seen = new Set<string>();
    let swapped = false;
    const traffic = (async () => {
      // keep 4 requests in flight until version 2 has answered a few
      let answeredByTwo = 0;
      while (answeredByTwo < 4) {
        const batch = await Promise.all(Array.from({ length: 4 }, () => call(c.kserve, c.kserve.modelInfer, request)));
        for (const r of batch) {
          seen.add(r.modelVersion);
          if (r.modelVersion === '2') answeredByTwo++;
        }
        if (!swapped) {
          swapped = true;
          await addVersion(join(t.dir, 'anomaly'), 2, ANOMALY);
        }
      }
    })();
    await traffic;
    expect([...seen].sort()).toEqual(['1', '2']);
  });

  it('applies config.json edits, keeps serving through an invalid one, and tracks health per model', async () => {
    await addVersion(join(t.dir, 'anomaly'), 1, ANOMALY);
    await t.writeConfig([clf, anomaly]);
    await waitFor(async () => (await call(c.kserve, c.kserve.modelReady, { name: 'anomaly', version: '' }).catch(() => ({ ready: false }))).ready, 10_000, 'anomaly to load');
    expect((await call(c.health, c.health.check, { service: 'anomaly' })).status).toBe(health.HealthCheckResponse_ServingStatus.SERVING);

    await t.writeConfig('{"model_config_list": [ {"config": {"name": "clf"}} ]');
    await waitFor(() => t.log.lines().some((l) => l.msg === 'config is invalid; keeping the models served now'), 5000, 'the invalid config to be logged');
    await new Promise((r) => setTimeout(r, 300));
    expect((await infer('clf')).modelName).toBe('clf');
    expect((await call(c.kserve, c.kserve.modelReady, { name: 'anomaly', version: '' })).ready).toBe(true);

    await t.writeConfig(configJson([anomaly]));
    await waitFor(async () => (await failure(infer('clf')).catch(() => ({ bgCode: 'served' }))).bgCode === 'BG_UNKNOWN_MODEL', 10_000, 'clf to be removed');
    expect((await failure(call(c.health, c.health.check, { service: 'clf' }))).code).toBe(status.NOT_FOUND);
    expect((await call(c.kserve, c.kserve.serverReady, {})).ready).toBe(true);
  });

  it('is not ready while a configured model has no version to serve', async () => {
    await t.writeConfig([clf, { name: 'empty', id: CLASSIFIER, versions: [] }]);
    await waitFor(async () => !(await call(c.kserve, c.kserve.serverReady, {})).ready, 10_000, 'the server to become not ready');
    expect((await call(c.health, c.health.check, { service: 'empty' })).status).toBe(health.HealthCheckResponse_ServingStatus.NOT_SERVING);
    expect((await call(c.health, c.health.check, { service: 'clf' })).status).toBe(health.HealthCheckResponse_ServingStatus.SERVING);
    await addVersion(join(t.dir, 'empty'), 1, CLASSIFIER);
    await waitFor(async () => (await call(c.kserve, c.kserve.serverReady, {})).ready, 10_000, 'the server to become ready');
  });
});
