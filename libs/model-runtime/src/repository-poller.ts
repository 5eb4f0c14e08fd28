import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@bundlegate/service-kit';
import type { ModelManager } from './model-manager';
import { parseServingConfig, ServingConfigError, type ConfigContext, type ServingConfig } from './serving-config';

// OVMS's `--file_system_poll_wait_seconds`: re-read config.json and rescan every model directory.

/** Reads and parses a config.json; relative base paths resolve against its directory. */
export async function readServingConfig(file: string, cpus?: number): Promise<{ text: string; config: ServingConfig }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ServingConfigError([`cannot read: ${(err as Error).message}`], file);
  }
  return { text, config: parseServingConfig(text, { file, baseDir: dirname(file), cpus }) };
}

export interface PollerOptions {
  readonly manager: ModelManager;
  readonly logger: Logger;
  /** Time between the end of one poll and the start of the next; 0 turns polling off. */
  readonly intervalMs: number;
  /** config.json to re-read on every poll (single-model setups have none). */
  readonly configFile?: string;
  /** The config.json text already applied, so an unchanged file is not re-applied. */
  readonly appliedText?: string;
  readonly context?: Pick<ConfigContext, 'cpus'>;
}

export interface Poller {
  /** One poll now (serialized with the timer's); resolves when it has been applied. */
  pollNow(): Promise<void>;
  /** No more polls; resolves once a poll in progress has finished. */
  stop(): Promise<void>;
}

export function startPolling(options: PollerOptions): Poller {
  const { manager, logger, configFile, intervalMs } = options;
  let lastText = options.appliedText;
  let lastProblem: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;

  const poll = async (): Promise<void> => {
    if (configFile !== undefined) {
      try {
        const { text, config } = await readServingConfig(configFile, options.context?.cpus);
        lastProblem = undefined;
        if (text !== lastText) {
          for (const warning of config.warnings) logger.warn({ file: configFile }, warning);
          logger.info({ file: configFile, models: config.models.map((m) => m.name) }, 'config changed; applying');
          await manager.apply(config);
          lastText = text;
        }
      } catch (err) {
        // OVMS semantics: a broken config changes nothing; say so once per distinct problem
        const problem = err instanceof ServingConfigError ? err.message : String(err);
        if (problem !== lastProblem) {
          lastProblem = problem;
          logger.error({ file: configFile, problems: err instanceof ServingConfigError ? err.problems : [problem] }, 'config is invalid; keeping the models served now');
        }
      }
    }
    await manager.refresh();
  };

  const runOnce = (): Promise<void> => {
    running = running.then(poll).catch((err: unknown) => logger.error({ err }, 'model repository poll failed'));
    return running;
  };

  const schedule = (): void => {
    if (stopped || intervalMs <= 0) return;
    timer = setTimeout(() => void runOnce().then(schedule), intervalMs);
    timer.unref();
  };
  schedule();

  return {
    pollNow: runOnce,
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
