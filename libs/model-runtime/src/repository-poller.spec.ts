import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addVersion, captureLog, CLASSIFIER, scratchDir, waitFor } from '../test/fixtures';
import { ModelManager } from './model-manager';
import { readServingConfig, startPolling, type Poller } from './repository-poller';

const configJson = (...models: { name: string; base_path: string; model_version_policy?: unknown }[]): string =>
  JSON.stringify({ model_config_list: models.map((config) => ({ config: { ...config, plugin_config: { executor: 'inline' } } })) });

describe('startPolling', () => {
  let scratch: Awaited<ReturnType<typeof scratchDir>>;
  let manager: ModelManager;
  let poller: Poller | undefined;
  let log: ReturnType<typeof captureLog>;

  beforeEach(async () => {
    scratch = await scratchDir();
    log = captureLog();
    manager = new ModelManager({ logger: log.logger });
  });

  afterEach(async () => {
    await poller?.stop();
    await manager.close();
    await scratch.remove();
  });

  it('picks up new version directories at the poll interval', async () => {
    await addVersion(join(scratch.dir, 'a'), 1, CLASSIFIER);
    const file = join(scratch.dir, 'config.json');
    await writeFile(file, configJson({ name: 'a', base_path: 'a' }));
    const { text, config } = await readServingConfig(file, 2);
    await manager.apply(config);
    poller = startPolling({ manager, logger: log.logger, intervalMs: 50, configFile: file, appliedText: text });
    expect(manager.availableVersions('a')).toEqual([1]);
    await addVersion(join(scratch.dir, 'a'), 2, CLASSIFIER);
    await waitFor(() => manager.availableVersions('a').join() === '2', 10_000, 'version 2 to replace version 1');
  });

  it('applies an edited config.json, and keeps serving through an invalid one', async () => {
    await addVersion(join(scratch.dir, 'a'), 1, CLASSIFIER);
    await addVersion(join(scratch.dir, 'b'), 1, CLASSIFIER);
    const file = join(scratch.dir, 'config.json');
    await writeFile(file, configJson({ name: 'a', base_path: 'a' }));
    const { text, config } = await readServingConfig(file, 2);
    await manager.apply(config);
    poller = startPolling({ manager, logger: log.logger, intervalMs: 0, configFile: file, appliedText: text });

    await writeFile(file, configJson({ name: 'a', base_path: 'a' }, { name: 'b', base_path: 'b' }));
    await poller.pollNow();
    expect(manager.modelNames()).toEqual(['a', 'b']);

    await writeFile(file, '{"model_config_list": [{"config": {"name": "a"}}');
    await poller.pollNow();
    await poller.pollNow();
    expect(manager.modelNames()).toEqual(['a', 'b']);
    expect(manager.isReady('b')).toBe(true);
    const errors = log.lines().filter((l) => l.msg === 'config is invalid; keeping the models served now');
    // said once, not on every poll
    expect(errors).toHaveLength(1);
    expect(errors[0]?.level).toBe('error');
    expect(String((errors[0]?.problems as string[])[0])).toMatch(/^not valid JSON/);

    await writeFile(file, configJson({ name: 'b', base_path: 'b' }, { name: 'c', base_path: 'missing' }));
    await poller.pollNow();
    expect(manager.modelNames()).toEqual(['b', 'c']);
    expect(manager.isReady('c')).toBe(false);
  });

  it('rejects a config with problems without touching what is served', async () => {
    await addVersion(join(scratch.dir, 'a'), 1, CLASSIFIER);
    const file = join(scratch.dir, 'config.json');
    await writeFile(file, configJson({ name: 'a', base_path: 'a' }));
    const { text, config } = await readServingConfig(file, 2);
    await manager.apply(config);
    poller = startPolling({ manager, logger: log.logger, intervalMs: 0, configFile: file, appliedText: text });
    await writeFile(file, configJson({ name: 'a', base_path: 'a', model_version_policy: { newest: {} } }, { name: 'a', base_path: 'b' }));
    await poller.pollNow();
    expect(manager.modelNames()).toEqual(['a']);
    const error = log.lines().find((l) => l.msg === 'config is invalid; keeping the models served now');
    expect(error?.problems).toEqual([
      'model_config_list[0].config.model_version_policy has unknown kind "newest"; expected "latest", "specific" or "all"',
      'model_config_list[1].config.name "a" is used by an earlier model',
    ]);
  });
});
