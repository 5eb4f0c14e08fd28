import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import lockfile from 'proper-lockfile';

/** The separate npm package (not a workspace member) holding the pinned firebase-tools. */
export const GCS_EMULATOR_DIR = resolve(__dirname, '..', 'gcs');

const run = promisify(execFile);

function pinnedVersion(): string {
  const pkg = JSON.parse(readFileSync(join(GCS_EMULATOR_DIR, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const v = pkg.dependencies['firebase-tools'];
  if (!v) throw new Error(`${GCS_EMULATOR_DIR}/package.json does not pin firebase-tools`);
  return v;
}

/** True when tools/emulators/gcs/node_modules holds exactly the pinned firebase-tools. */
export function gcsEmulatorInstalled(): boolean {
  const installed = join(GCS_EMULATOR_DIR, 'node_modules', 'firebase-tools', 'package.json');
  if (!existsSync(installed)) return false;
  const { version } = JSON.parse(readFileSync(installed, 'utf8')) as { version: string };
  return version === pinnedVersion();
}

/**
 * Installs the GCS emulator package with `npm ci --ignore-scripts` when missing or stale.
 * A file lock makes parallel jest workers wait for one install instead of racing.
 */
export async function ensureGcsEmulatorInstalled(): Promise<void> {
  if (gcsEmulatorInstalled()) return;
  const release = await lockfile.lock(GCS_EMULATOR_DIR, {
    lockfilePath: join(GCS_EMULATOR_DIR, '.install.lock'),
    stale: 60000,
    update: 10000,
    retries: { retries: 600, minTimeout: 500, maxTimeout: 1000, factor: 1 },
  });
  try {
    if (gcsEmulatorInstalled()) return;
    await run('npm', ['ci', '--prefix', GCS_EMULATOR_DIR, '--ignore-scripts', '--no-audit', '--no-fund'], {
      cwd: GCS_EMULATOR_DIR,
      maxBuffer: 64 * 1024 * 1024,
      timeout: 10 * 60 * 1000,
    });
    if (!gcsEmulatorInstalled()) throw new Error(`npm ci in ${GCS_EMULATOR_DIR} did not install the pinned firebase-tools`);
  } finally {
    await release();
  }
}
