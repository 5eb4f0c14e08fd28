// @bundlegate/model-download: sync a bundle's models from gs://, s3:// or file:// into a model repository.

// ---- sync
export { syncModels, describeFailure, DEFAULT_RANGE_SIZE, DEFAULT_RANGE_THRESHOLD } from './sync';
export type { ModelSource, SyncOptions, ModelResult, SyncSummary } from './sync';
export { planModel, scanLocalModel, sameObject, versionNeedsInstall } from './plan';
export type { ModelPlan, VersionPlan, PlannedFile, PlanReason, LocalModel, LocalFile } from './plan';
export { readManifest, writeManifest, manifestPath, MANIFEST_DIR } from './manifest';
export type { Manifest, ManifestEntry } from './manifest';
export { ModelStaging, STAGING_DIR, linkOrCopy } from './staging';
export { fetchObject } from './transfer';
export type { TransferOptions, TransferResult, VerifiedBy } from './transfer';
export { TransferPool } from './pool';

// ---- storage backends
export type { StorageBackend, RemoteObject, ByteRange, ReadResult } from './storage';
export { createS3Backend, s3SettingsFromEnv } from './storage-s3';
export type { S3Settings, S3BackendOptions } from './storage-s3';
export { createGcsBackend } from './storage-gcs';
export type { GcsBackendOptions } from './storage-gcs';
export { createFileBackend } from './storage-file';
export { createBackend, BackendCache } from './source';
export type { BackendSettings } from './source';

// ---- checksums and key safety
export { pickChecksum, createHasher, hashFile, checksumEquals, checksumsFromS3Etag, MultipartEtagHasher } from './checksum';
export type { ObjectChecksums, ChecksumAlgorithm, ExpectedChecksum, Hasher } from './checksum';
export { keySegments, isSafeKey, safeJoin, checkModelId } from './key-safety';

// encrypted model files (BGENC1) live in @bundlegate/model-crypto

// ---- CLI and progress
export { runCli } from './cli';
export type { CliIo } from './cli';
export { downloadSpec, encryptSpec, defaultConcurrency } from './config';
export type { DownloadConfig } from './config';
export { createBarsProgress, createLogProgress, silentProgress } from './progress';
export type { ProgressSink } from './progress';
