import type { SourceUri } from '@bundlegate/bundle';
import { createFileBackend } from './storage-file';
import { createGcsBackend, type GcsBackendOptions } from './storage-gcs';
import { createS3Backend, type S3Settings } from './storage-s3';
import type { StorageBackend } from './storage';

export interface BackendSettings {
  readonly s3: S3Settings;
  readonly gcs: Omit<GcsBackendOptions, 'bucket' | 'prefix'>;
  /** Connections an S3 client may open: at least the transfer concurrency. */
  readonly maxSockets?: number;
}

/** Makes one backend per distinct source (models sharing a bucket share its client). */
export class BackendCache {
  private readonly backends = new Map<string, StorageBackend>();
  constructor(private readonly settings: BackendSettings) {}

  get(source: SourceUri): StorageBackend {
    let b = this.backends.get(source.uri);
    if (b === undefined) {
      b = createBackend(source, this.settings);
      this.backends.set(source.uri, b);
    }
    return b;
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.backends.values()].map((b) => b.close()));
    this.backends.clear();
  }
}

export function createBackend(source: SourceUri, settings: BackendSettings): StorageBackend {
  switch (source.scheme) {
    case 'file':
      return createFileBackend(source.path);
    case 's3':
      return createS3Backend({
        bucket: source.bucket,
        prefix: source.prefix,
        settings: settings.s3,
        ...(settings.maxSockets !== undefined ? { maxSockets: settings.maxSockets } : {}),
      });
    case 'gs':
      return createGcsBackend({ bucket: source.bucket, prefix: source.prefix, ...settings.gcs });
  }
}
