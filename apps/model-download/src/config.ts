import {
  bool,
  bytes,
  filePath,
  int,
  list,
  loggingSpec,
  oneOf,
  positional,
  secret,
  string,
  type ConfigOf,
  type ConfigSpec,
} from '@bundlegate/service-kit';
import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** Enough parallel requests to hide per-request latency, bounded so small machines are not swamped. */
export function defaultConcurrency(): number {
  return Math.min(32, Math.max(4, availableParallelism() * 4));
}

const MiB = 1024 * 1024;

/** `model-download` settings: every flag has a MODEL_DOWNLOAD_* variable; credentials keep the names deployments use. */
export const downloadSpec = {
  bundle: filePath({ flag: 'bundle', env: 'MODEL_DOWNLOAD_BUNDLE', mustExist: 'file', help: 'bundle.yaml: sync every model it lists from its source.' }),
  source: string({ flag: 'source', env: 'MODEL_DOWNLOAD_SOURCE', help: 'gs://bucket/prefix, s3://bucket/prefix or file:///dir holding <id>/<version>/… (instead of --bundle).' }),
  models: list({ flag: 'model', env: 'MODEL_DOWNLOAD_MODEL', help: 'Model id to sync (repeatable; comma-separated in the env). With --bundle: only these models.' }),
  modelsDir: filePath({ flag: 'models-dir', env: 'MODEL_DOWNLOAD_MODELS_DIR', required: true, help: 'Model repository to fill: <dir>/<id>/<version>/…' }),
  concurrency: int({ flag: 'concurrency', env: 'MODEL_DOWNLOAD_CONCURRENCY', min: 1, max: 256, default: defaultConcurrency(), help: 'Parallel transfers (whole objects and ranges of large ones).' }),
  prune: bool({ flag: 'prune', env: 'MODEL_DOWNLOAD_PRUNE', default: false, help: 'Also remove local versions and files the source no longer has (like rclone sync; default: keep them, like rclone copy).' }),
  deploymentDir: filePath({ flag: 'deployment-dir', env: 'MODEL_DOWNLOAD_DEPLOYMENT_DIR', mustExist: 'dir', help: 'Deployment directory: reads creds/bundle/.env, conf/bundle/.env, creds/bundle/gcs.json and creds/bundle/model.key.' }),
  rangeThreshold: bytes({ flag: 'range-threshold', env: 'MODEL_DOWNLOAD_RANGE_THRESHOLD', min: 1, default: 128 * MiB, help: 'Objects at least this large are downloaded as parallel ranges.' }),
  rangeSize: bytes({ flag: 'range-size', env: 'MODEL_DOWNLOAD_RANGE_SIZE', min: 64 * 1024, default: 64 * MiB, help: 'Size of each range of a large object.' }),
  retries: int({ flag: 'retries', env: 'MODEL_DOWNLOAD_RETRIES', min: 0, max: 20, default: 3, help: 'Extra attempts for an object whose download fails or does not match its checksum.' }),
  progress: oneOf({ flag: 'progress', env: 'MODEL_DOWNLOAD_PROGRESS', values: ['auto', 'bars', 'log', 'none'], default: 'auto', help: 'auto: a bar per model on a terminal, JSON progress lines otherwise.' }),
  decryptionKeyFile: filePath({ flag: 'decryption-key-file', env: 'MODEL_DOWNLOAD_DECRYPTION_KEY_FILE', mustExist: 'file', help: 'Key for .enc files (32 bytes, base64); default MODEL_DECRYPTION_KEY, then creds/bundle/model.key.' }),
  s3Endpoint: string({ flag: 's3-endpoint', env: 'MODEL_DOWNLOAD_S3_ENDPOINT', help: 'S3-compatible endpoint URL (default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, RCLONE_S3_ENDPOINT, else AWS).' }),
  s3Region: string({ flag: 's3-region', env: 'MODEL_DOWNLOAD_S3_REGION', help: 'S3 region (default AWS_REGION, AWS_DEFAULT_REGION, RCLONE_S3_REGION, else us-east-1).' }),
  s3PathStyle: oneOf({ flag: 's3-path-style', env: 'MODEL_DOWNLOAD_S3_PATH_STYLE', values: ['auto', 'true', 'false'], default: 'auto', help: 'Path-style S3 URLs; auto: RCLONE_S3_FORCE_PATH_STYLE, else on for custom endpoints.' }),

  // read from the environment or the deployment's .env files, under the names deployments already set
  decryptionKey: secret({ env: 'MODEL_DECRYPTION_KEY', help: 'Key for .enc files, 32 bytes base64.' }),
  awsAccessKeyId: secret({ env: 'AWS_ACCESS_KEY_ID', help: 'S3 access key id.' }),
  awsSecretAccessKey: secret({ env: 'AWS_SECRET_ACCESS_KEY', help: 'S3 secret access key.' }),
  awsSessionToken: secret({ env: 'AWS_SESSION_TOKEN', help: 'S3 session token.' }),
  awsRegion: string({ env: 'AWS_REGION', help: 'S3 region.' }),
  awsDefaultRegion: string({ env: 'AWS_DEFAULT_REGION', help: 'S3 region, when AWS_REGION is unset.' }),
  awsEndpointUrl: string({ env: 'AWS_ENDPOINT_URL', help: 'S3-compatible endpoint.' }),
  awsEndpointUrlS3: string({ env: 'AWS_ENDPOINT_URL_S3', help: 'S3-compatible endpoint (wins over AWS_ENDPOINT_URL).' }),
  rcloneS3Provider: string({ env: 'RCLONE_S3_PROVIDER', help: 'rclone S3 provider (AWS, Minio, Ceph, …): non-AWS providers default to path-style URLs.' }),
  rcloneS3AccessKeyId: secret({ env: 'RCLONE_S3_ACCESS_KEY_ID', help: 'S3 access key id, when AWS_ACCESS_KEY_ID is unset.' }),
  rcloneS3SecretAccessKey: secret({ env: 'RCLONE_S3_SECRET_ACCESS_KEY', help: 'S3 secret, when AWS_SECRET_ACCESS_KEY is unset.' }),
  rcloneS3SessionToken: secret({ env: 'RCLONE_S3_SESSION_TOKEN', help: 'S3 session token, when AWS_SESSION_TOKEN is unset.' }),
  rcloneS3Endpoint: string({ env: 'RCLONE_S3_ENDPOINT', help: 'S3-compatible endpoint (a bare host means https).' }),
  rcloneS3Region: string({ env: 'RCLONE_S3_REGION', help: 'S3 region.' }),
  rcloneS3ForcePathStyle: string({ env: 'RCLONE_S3_FORCE_PATH_STYLE', help: 'true/false: path-style S3 URLs.' }),
  googleApplicationCredentials: filePath({ env: 'GOOGLE_APPLICATION_CREDENTIALS', help: 'GCS service-account JSON (creds/bundle/gcs.json wins when present).' }),
  storageEmulatorHost: string({ env: 'STORAGE_EMULATOR_HOST', help: 'Cloud Storage emulator URL; requests to it are not authenticated.' }),
  gcsProjectId: string({ env: 'GOOGLE_CLOUD_PROJECT', help: 'GCS project id (optional for downloads).' }),

  ...loggingSpec('MODEL_DOWNLOAD'),
} satisfies ConfigSpec;

export type DownloadConfig = ConfigOf<typeof downloadSpec>;

/** Exactly one of --bundle and --source; --source needs models. */
export function validateDownloadConfig(c: DownloadConfig): string[] {
  const problems: string[] = [];
  if (c.bundle === undefined && c.source === undefined) problems.push('give --bundle FILE or --source URI (MODEL_DOWNLOAD_BUNDLE / MODEL_DOWNLOAD_SOURCE)');
  if (c.bundle !== undefined && c.source !== undefined) problems.push('give --bundle or --source, not both');
  if (c.source !== undefined && c.models.length === 0) problems.push('--source needs at least one --model ID (MODEL_DOWNLOAD_MODEL)');
  if (c.rangeThreshold < c.rangeSize) problems.push(`--range-threshold (${c.rangeThreshold}) must be at least --range-size (${c.rangeSize})`);
  return problems;
}

/** The environment as the spec read it (flags' values left out), for code that speaks in variable names. */
export function envView(c: DownloadConfig): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, field] of Object.entries(downloadSpec)) {
    if (field.env === undefined || field.flag !== undefined) continue;
    const value = (c as Record<string, unknown>)[key];
    if (typeof value === 'string') out[field.env] = value;
  }
  return out;
}

/**
 * The deployment dir must be known before loading the rest (its .env files feed the config), so it is
 * picked from argv / env first: `--deployment-dir D`, `--deployment-dir=D`, `--deployment_dir …`, then
 * MODEL_DOWNLOAD_DEPLOYMENT_DIR.
 */
export function preScanDeploymentDir(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    const m = /^--deployment[-_]dir(?:=(.*))?$/.exec(a);
    if (!m) continue;
    found = m[1] ?? argv[i + 1];
  }
  found ??= env['MODEL_DOWNLOAD_DEPLOYMENT_DIR'] || undefined;
  if (found === undefined || found === '') return undefined;
  return isAbsolute(found) ? found : resolve(cwd, found);
}

/** .env files of a deployment dir, the credentials one first (earlier files win). */
export function deploymentEnvFiles(deploymentDir: string | undefined): string[] {
  return deploymentDir === undefined ? [] : [join(deploymentDir, 'creds', 'bundle', '.env'), join(deploymentDir, 'conf', 'bundle', '.env')];
}

/** `encrypt-model --key FILE IN OUT` */
export const encryptSpec = {
  key: filePath({ flag: 'key', env: 'MODEL_DOWNLOAD_ENCRYPT_KEY_FILE', mustExist: 'file', required: true, help: 'Key file: 32 bytes, base64 (e.g. `openssl rand -base64 32 > model.key`).' }),
  input: positional({ name: 'IN', required: true, help: 'Plain model file.' }),
  output: positional({ name: 'OUT', required: true, help: 'Encrypted file to write (conventionally IN.enc).' }),
} satisfies ConfigSpec;
