// Test harnesses for storage emulators; every server binds 127.0.0.1 on a free port.

// s3rver (S3 API)
export { startS3rver, S3RVER_ACCESS_KEY, S3RVER_SECRET_KEY, S3RVER_REGION } from './s3rver';
export type { S3rverHandle, S3rverOptions } from './s3rver';

// firebase-tools Storage emulator (Cloud Storage JSON API)
export { startGcsEmulator } from './gcs';
export type { GcsEmulatorHandle } from './gcs';
export { ensureGcsEmulatorInstalled, gcsEmulatorInstalled, GCS_EMULATOR_DIR } from './gcs-install';

// shared
export { spawnEmulator } from './child-emulator';
export type { ChildEmulator, SpawnEmulatorOptions } from './child-emulator';
