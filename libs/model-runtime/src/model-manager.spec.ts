import { rm, writeFile, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isBgError, type BgError } from '@bundlegate/service-kit';
import type { Tensor } from '@bundlegate/tensors';
import { addBrokenVersion, addVersion, ANOMALY, captureLog, CLASSIFIER, demoModelFile, scratchDir, waitFor } from '../test/fixtures';
import { ModelManager, parseVersion, type ModelStatus } from './model-manager';
import { openModel, type ModelOpener } from './open-model';
import { singleModelConfig, type ServingConfig } from './serving-config';
import type { VersionPolicy } from './version-policy';

const image = (): Tensor => ({ name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3], data: new Float32Array(64 * 64 * 3).fill(128) });

function config(basePath: string, extra: { versionPolicy?: VersionPolicy; threads?: number; name?: string } = {}): ServingConfig {
  const pluginConfig = { executor: 'inline', ...(extra.threads ? { intra_op_num_threads: extra.threads } : {}) };
  return singleModelConfig({ name: extra.name ?? 'clf', basePath, versionPolicy: extra.versionPolicy, pluginConfig }, { baseDir: '/', cpus: 2 });
}

/** openModel, recording "open:<version>" when a load finishes and "close:<version>" when sessions close. */
function recordingOpener(events: string[]): ModelOpener {
  return async (file, options) => {
    const runner = await openModel(file, options);
    const version = file.split('/').at(-2);
    events.push(`open:${version}`);
    return {
      ...runner,
      close: async () => {
        events.push(`close:${version}`);
        await runner.close();
      },
    };
  };
}

function states(status: ModelStatus): string[] {
  return status.versions.map((v) => `${v.version}:${v.state}`);
}

async function rejection(work: () => unknown): Promise<BgError> {
  try {
    await work();
  } catch (err) {
    if (isBgError(err)) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('ModelManager', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let base: string;
  let manager: ModelManager;
  let events: string[];
  const log = captureLog();

  beforeEach(async () => {
    scratch = await scratchDir();
    base = join(scratch.dir, 'clf');
    events = [];
    manager = new ModelManager({ logger: log.logger, open: recordingOpener(events) });
  });

  afterEach(async () => {
    await manager.close();
    await scratch.remove();
  });

  it('serves the latest version and answers for it', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await addVersion(base, 2, CLASSIFIER);
    await manager.apply(config(base));
    expect(states(manager.status('clf'))).toEqual(['2:AVAILABLE']);
    expect(events).toEqual(['open:2']);
    const result = await manager.infer({ model: 'clf', inputs: [image()] });
    expect(result.version).toBe(2);
    expect(result.outputs.map((t) => `${t.name} ${t.datatype} [${t.shape.join(',')}]`)).toEqual(['label BYTES [1]', 'probability FP32 [1]']);
    expect(['authentic', 'tampered']).toContain(Buffer.from((result.outputs[0]?.data as Uint8Array[])[0] as Uint8Array).toString());
    expect(result.inferenceUs).toBeGreaterThan(0);
  });

  it('tells unknown models from unknown versions', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await manager.apply(config(base));
    const unknownModel = await rejection(() => manager.acquire('nope'));
    expect(unknownModel.code).toBe('BG_UNKNOWN_MODEL');
    expect(unknownModel.message).toBe('unknown model "nope"; known models: clf');
    const unknownVersion = await rejection(() => manager.acquire('clf', 7));
    expect(unknownVersion.code).toBe('BG_UNKNOWN_VERSION');
    expect(unknownVersion.message).toBe('model "clf" has no version "7"; available: 1');
    expect((await rejection(() => parseVersion('clf', 'latest'))).code).toBe('BG_UNKNOWN_VERSION');
    expect(parseVersion('clf', '')).toBeUndefined();
    expect(parseVersion('clf', 3n)).toBe(3);
  });

  it('answers "not ready" while a version is still loading', async () => {
    await addVersion(base, 1, CLASSIFIER);
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const slow = new ModelManager({ logger: log.logger, open: async (file, options) => (await gate, openModel(file, options)) });
    const applied = slow.apply(config(base));
    // the directory scan comes first, then the version shows as loading until the gate opens
    await waitFor(() => slow.has('clf') && states(slow.status('clf')).join() === '1:LOADING', 5000, 'version 1 to be loading');
    const any = await rejection(() => slow.acquire('clf'));
    expect(any.message).toBe('model "clf" is not ready: its versions are still loading');
    expect((await rejection(() => slow.acquire('clf', 1))).message).toBe('model "clf" is not ready: version 1 is still loading');
    expect(any.httpStatus).toBe(503);
    open();
    await applied;
    expect(slow.isReady('clf', 1)).toBe(true);
    await slow.close();
  });

  it('loads a new version before retiring the old one', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await manager.apply(config(base));
    await addVersion(base, 2, CLASSIFIER);
    await manager.refresh();
    await waitForEvent(events, 'close:1');
    expect(events).toEqual(['open:1', 'open:2', 'close:1']);
    expect(states(manager.status('clf'))).toEqual(['1:END', '2:AVAILABLE']);
    expect((await manager.infer({ model: 'clf', inputs: [image()] })).version).toBe(2);
  });

  it('lets requests in flight finish on the version they started on', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await manager.apply(config(base));
    const lease = manager.acquire('clf');
    await addVersion(base, 2, CLASSIFIER);
    await manager.refresh();
    // new requests go to version 2; version 1 waits for its lease
    expect(states(manager.status('clf'))).toEqual(['1:UNLOADING', '2:AVAILABLE']);
    expect((await manager.infer({ model: 'clf', inputs: [image()] })).version).toBe(2);
    expect(events).not.toContain('close:1');
    const feeds = [{ name: 'image_input', type: 'float32' as const, dims: [1, 64, 64, 3], data: new Float32Array(64 * 64 * 3) }];
    await expect(lease.model.runner.run(feeds, ['label'])).resolves.toHaveLength(1);
    lease.release();
    await waitFor(() => states(manager.status('clf')).join() === '1:END,2:AVAILABLE', 5000, 'version 1 to end');
    expect(events).toEqual(['open:1', 'open:2', 'close:1']);
  });

  it('retires removed versions and is not ready once none is left', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await addVersion(base, 2, CLASSIFIER);
    await manager.apply(config(base, { versionPolicy: { kind: 'all' } }));
    expect(states(manager.status('clf'))).toEqual(['1:AVAILABLE', '2:AVAILABLE']);
    await rm(join(base, '2'), { recursive: true });
    await manager.refresh();
    expect(manager.availableVersions('clf')).toEqual([1]);
    await rm(join(base, '1'), { recursive: true });
    await manager.refresh();
    expect(manager.isReady('clf')).toBe(false);
    const err = await rejection(() => manager.acquire('clf'));
    expect(err.code).toBe('BG_MODEL_NOT_READY');
    expect(err.message).toBe('model "clf" is not ready: no version is loaded');
  });

  it('reports a version that fails to load, keeps serving the others, and retries once the file changes', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await manager.apply(config(base, { versionPolicy: { kind: 'all' } }));
    const file = await addBrokenVersion(base, 2);
    await manager.refresh();
    const failed = manager.status('clf').versions.find((v) => v.version === 2);
    expect(failed).toMatchObject({ state: 'END', errorCode: 'UNKNOWN' });
    expect(failed?.errorMessage).not.toBe('');
    expect(log.lines().some((l) => l.msg === 'model version failed to load' && l.version === 2)).toBe(true);
    expect((await manager.infer({ model: 'clf', inputs: [image()] })).version).toBe(1);
    await manager.refresh();
    expect(events.filter((e) => e === 'open:2')).toEqual([]);
    await copyFile(demoModelFile(CLASSIFIER), file);
    await manager.refresh();
    expect(states(manager.status('clf'))).toEqual(['1:AVAILABLE', '2:AVAILABLE']);
  });

  it('follows a version policy change without reloading what stays', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await addVersion(base, 2, CLASSIFIER);
    await manager.apply(config(base));
    await manager.apply(config(base, { versionPolicy: { kind: 'specific', versions: [1] } }));
    await waitForEvent(events, 'close:2');
    expect(events).toEqual(['open:2', 'open:1', 'close:2']);
    expect(manager.availableVersions('clf')).toEqual([1]);
  });

  it('reloads every version when the session settings change, keeping the old ones until then', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await manager.apply(config(base));
    const lease = manager.acquire('clf');
    try {
      await manager.apply(config(base, { threads: 1 }));
      expect(events).toEqual(['open:1', 'open:1']);
      const fresh = manager.acquire('clf');
      expect(fresh.model.runner.options.intraOpThreads).toBe(1);
      expect(fresh.model.runner).not.toBe(lease.model.runner);
      fresh.release();
    } finally {
      lease.release();
    }
    await waitForEvent(events, 'close:1');
    expect(states(manager.status('clf'))).toEqual(['1:AVAILABLE']);
    expect((await manager.infer({ model: 'clf', inputs: [image()] })).version).toBe(1);
  });

  it('adds and removes whole models', async () => {
    await addVersion(base, 1, CLASSIFIER);
    const anomalyBase = join(scratch.dir, 'anomaly');
    await addVersion(anomalyBase, 1, ANOMALY);
    await manager.apply(config(base));
    const both: ServingConfig = { models: [...config(base).models, ...config(anomalyBase, { name: 'anomaly' }).models], warnings: [] };
    await manager.apply(both);
    expect(manager.modelNames()).toEqual(['anomaly', 'clf']);
    await manager.apply(config(anomalyBase, { name: 'anomaly' }));
    expect(manager.modelNames()).toEqual(['anomaly']);
    expect((await rejection(() => manager.infer({ model: 'clf', inputs: [image()] }))).code).toBe('BG_UNKNOWN_MODEL');
  });

  it('checks requested outputs and returns them in the order asked', async () => {
    await addVersion(base, 1, CLASSIFIER);
    await manager.apply(config(base));
    const result = await manager.infer({ model: 'clf', inputs: [image()], outputs: ['probability'] });
    expect(result.outputs.map((t) => t.name)).toEqual(['probability']);
    const err = await rejection(() => manager.infer({ model: 'clf', inputs: [image()], outputs: ['score'] }));
    expect(err.code).toBe('BG_INVALID_ARGUMENT');
    expect(err.message).toBe('invalid outputs: expected outputs of clf: label, probability, got "score"');
  });

  it('tells listeners after every change', async () => {
    const seen: string[][] = [];
    manager.onChange((models) => seen.push(models.flatMap((m) => states(m).map((s) => `${m.name}@${s}`))));
    await addVersion(base, 1, CLASSIFIER);
    await manager.apply(config(base));
    await writeFile(join(scratch.dir, 'unrelated'), '');
    await manager.refresh();
    expect(seen).toEqual([['clf@1:AVAILABLE'], ['clf@1:AVAILABLE']]);
  });
});

async function waitForEvent(events: readonly string[], event: string): Promise<void> {
  const until = Date.now() + 5000;
  while (!events.includes(event)) {
    if (Date.now() > until) throw new Error(`no ${event} in ${events.join(', ')}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
