import type { Logger } from '@bundlegate/service-kit';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';

/** What a sync reports while it runs. */
export interface ProgressSink {
  /** Called once the model's plan is known: what will be fetched, and how much is already current. */
  modelPlanned(modelId: string, totals: { files: number; bytes: number; skipped: number }): void;
  bytes(modelId: string, n: number): void;
  fileDone(modelId: string): void;
  modelFinished(modelId: string, ok: boolean): void;
  stop(): void;
}

export const silentProgress: ProgressSink = {
  modelPlanned() {},
  bytes() {},
  fileDone() {},
  modelFinished() {},
  stop() {},
};

const MB = 1024 * 1024;

/** One bar per model (cli-progress) on a terminal. */
export function createBarsProgress(stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  const multi = new MultiBar(
    {
      stream,
      format: ' {model} |{bar}| {percentage}% {doneMB}/{totalMB} MiB {files} files {speed} MiB/s',
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, { bar: SingleBar; done: number; total: number; files: string; started: number }>();
  const payload = (s: { done: number; total: number; files: string; started: number }, model: string) => ({
    model: model.length > 24 ? `${model.slice(0, 23)}…` : model.padEnd(24),
    doneMB: (s.done / MB).toFixed(1),
    totalMB: (s.total / MB).toFixed(1),
    files: s.files,
    speed: (s.done / MB / Math.max(0.001, (Date.now() - s.started) / 1000)).toFixed(1),
  });
  let filesDone = new Map<string, number>();
  return {
    modelPlanned(modelId, totals) {
      const s = { done: 0, total: totals.bytes, files: `0/${totals.files}`, started: Date.now() };
      filesDone.set(modelId, 0);
      const bar = multi.create(Math.max(1, totals.bytes), 0, payload(s, modelId));
      bars.set(modelId, { ...s, bar, files: `0/${totals.files}` });
    },
    bytes(modelId, n) {
      const s = bars.get(modelId);
      if (!s) return;
      s.done += n;
      s.bar.update(Math.min(s.done, s.total), payload(s, modelId));
    },
    fileDone(modelId) {
      const s = bars.get(modelId);
      if (!s) return;
      const n = (filesDone.get(modelId) ?? 0) + 1;
      filesDone.set(modelId, n);
      s.files = `${n}/${s.files.split('/')[1]}`;
      s.bar.update(Math.min(s.done, s.total), payload(s, modelId));
    },
    modelFinished(modelId) {
      const s = bars.get(modelId);
      if (s) s.bar.update(Math.max(1, s.total), payload(s, modelId));
    },
    stop() {
      multi.stop();
      bars.clear();
      filesDone = new Map();
    },
  };
}

/** Without a terminal: a JSON log line per model every `intervalMs` while it transfers. */
export function createLogProgress(logger: Logger, intervalMs = 5000): ProgressSink {
  const state = new Map<string, { done: number; total: number; files: number; filesDone: number; started: number }>();
  const timer = setInterval(() => {
    for (const [modelId, s] of state) {
      const seconds = (Date.now() - s.started) / 1000;
      logger.info(
        { modelId, bytesDone: s.done, bytesTotal: s.total, filesDone: s.filesDone, filesTotal: s.files, mbPerSec: Number((s.done / MB / Math.max(0.001, seconds)).toFixed(1)) },
        'progress',
      );
    }
  }, intervalMs);
  timer.unref();
  return {
    modelPlanned(modelId, totals) {
      state.set(modelId, { done: 0, total: totals.bytes, files: totals.files, filesDone: 0, started: Date.now() });
    },
    bytes(modelId, n) {
      const s = state.get(modelId);
      if (s) s.done += n;
    },
    fileDone(modelId) {
      const s = state.get(modelId);
      if (s) s.filesDone++;
    },
    modelFinished(modelId) {
      state.delete(modelId);
    },
    stop() {
      clearInterval(timer);
      state.clear();
    },
  };
}
