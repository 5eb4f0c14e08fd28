import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnEmulator } from './child-emulator';
import { ensureGcsEmulatorInstalled, GCS_EMULATOR_DIR } from './gcs-install';

export interface GcsEmulatorHandle {
  readonly port: number;
  /** http://127.0.0.1:<port>: the value for STORAGE_EMULATOR_HOST or `apiEndpoint` */
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts the Cloud Storage API of firebase-tools' Storage emulator in a child process on 127.0.0.1
 * (installing the separate tools/emulators/gcs package first when needed). Buckets are created on first write.
 */
export async function startGcsEmulator(): Promise<GcsEmulatorHandle> {
  await ensureGcsEmulatorInstalled();
  // the emulator keeps blobs under os.tmpdir()/firebase and deletes them on stop: one private TMPDIR per instance
  const privateTmp = await mkdtemp(join(tmpdir(), 'gcs-emulator-'));
  const child = await spawnEmulator({
    script: join(GCS_EMULATOR_DIR, 'serve.cjs'),
    env: { ...process.env, TMPDIR: privateTmp },
    name: 'gcs emulator',
    startTimeoutMs: 60000,
  }).catch(async (err: unknown) => {
    await rm(privateTmp, { recursive: true, force: true });
    throw err;
  });
  return {
    port: child.port,
    endpoint: `http://127.0.0.1:${child.port}`,
    async stop() {
      await child.stop();
      await rm(privateTmp, { recursive: true, force: true });
    },
  };
}
