import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { BundleFileError, type BundleIssue } from './bundle-file-error';
import { dockerMemoryBytes, ovmsDevices, servingResources, type EngineOptionsMap, type ResourcesEntry, type ServingResources } from './engine-options';
import { SERVING_ENGINE_DEFAULTS, type ServingEngine } from './engines';
import { asArray, asRecord, asString } from './guards';
import { schemaIssues } from './schema-validator';
import { parseSignature, readText } from './signature';
import type { BundleSignature, SourceLocation } from './signature-types';
import { parseSourceUri, SourceUriError, type SourceUri } from './source-uri';
import { issueAt, locate, locationOf, mergeIssues, readYaml, type FieldPath, type TextFields, type YamlFile } from './yaml-source';

/** A bundle.yaml model entry as written. */
export type BundleModelEntry = {
  [E in ServingEngine]: {
    id: string;
    engine: E;
    source?: string;
    replicas?: number;
    image?: string;
    encrypted?: boolean;
    version?: number;
    resources?: ResourcesEntry;
    gpus?: number;
    environment?: Record<string, string>;
    args?: string[];
    options?: EngineOptionsMap[E];
  };
}[ServingEngine];

/** A bundle.yaml document as written. */
export interface BundleDocument {
  name: string;
  signature: string;
  source?: string;
  models: BundleModelEntry[];
}

interface BundleModelCommon {
  id: string;
  /** The model's own source, else the bundle's default; its files are at `<source>/<id>/<version>/…`. */
  source: SourceUri;
  replicas: number;
  /** Container image; null: the engine's default image. */
  image: string | null;
  encrypted: boolean;
  /** Version to serve; null: every version found (the server serves the latest). */
  version: number | null;
  /** CPU / memory defaults of the serving container; absent when bundle.yaml sets none. */
  resources?: ServingResources;
  /** NVIDIA GPUs per replica; absent when bundle.yaml sets none. */
  gpus?: number;
  /** Extra environment of the serving container; absent when bundle.yaml sets none. */
  environment?: Readonly<Record<string, string>>;
  /** Extra arguments after the generated serving command; absent when bundle.yaml sets none. */
  args?: readonly string[];
  location: SourceLocation;
}

/** A bundle.yaml model with defaults applied; `options` is typed by `engine`. */
export type BundleModel = {
  [E in ServingEngine]: BundleModelCommon & { engine: E; options: EngineOptionsMap[E] };
}[ServingEngine];

/** A validated bundle.yaml. */
export interface BundleManifest {
  /** The file name as given. */
  file: string;
  /** Absolute directory of the file: relative paths resolve against it. */
  dir: string;
  name: string;
  /** Absolute path of the signature file. */
  signature: string;
  /** Default source; null when every model names its own. */
  source: SourceUri | null;
  models: BundleModel[];
}

/** A bundle.yaml and the signature it names. */
export interface LoadedBundle {
  bundle: BundleManifest;
  signature: BundleSignature;
}

// environment, args and flag values end up as command-line text: `1.50` or `true` stay as written
const BUNDLE_TEXT_FIELDS: TextFields = {
  keys: new Set(['id', 'name', 'signature', 'image', 'source']),
  listKeys: new Set(['args']),
  deepKeys: new Set(['environment', 'backend-config', 'grpc_channel_arguments']),
};

/** Parses and validates bundle.yaml text; relative paths resolve against `fileName`'s directory. */
export function parseBundle(text: string, fileName: string): BundleManifest {
  const analysis = analyseBundle(text, fileName);
  if (analysis.manifest === undefined) throw new BundleFileError(analysis.issues);
  return analysis.manifest;
}

/** Reads bundle.yaml and the signature it names; throws one BundleFileError listing the problems of both. */
export async function loadBundleFile(path: string): Promise<LoadedBundle> {
  const analysis = analyseBundle(await readText(path), path);
  const issues: BundleIssue[] = [...analysis.issues];
  let signature: BundleSignature | undefined;
  const signaturePath = analysis.signaturePath;
  if (signaturePath !== undefined && analysis.yf !== undefined) {
    try {
      signature = parseSignature(await readFile(signaturePath, 'utf8'), signaturePath);
    } catch (error) {
      if (error instanceof BundleFileError) issues.push(...error.issues);
      else {
        const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : `cannot be read: ${(error as Error).message}`;
        issues.push(issueAt(analysis.yf, ['signature'], `signature file ${signaturePath} ${reason}`));
      }
    }
  }
  if (analysis.manifest === undefined || signature === undefined) throw new BundleFileError(issues);
  return { bundle: analysis.manifest, signature };
}

interface BundleAnalysis {
  yf?: YamlFile;
  issues: BundleIssue[];
  manifest?: BundleManifest;
  /** Absolute signature path, whenever the file names one. */
  signaturePath?: string;
}

function analyseBundle(text: string, fileName: string): BundleAnalysis {
  const yf = readYaml(text, fileName, BUNDLE_TEXT_FIELDS);
  if (yf.issues.length > 0) return { issues: mergeIssues(yf.issues, []) };
  const dir = dirname(resolve(fileName));
  const root = asRecord(yf.value);
  const signatureRef = asString(root?.['signature']);
  const signaturePath = signatureRef === undefined || signatureRef === '' ? undefined : resolve(dir, signatureRef);
  const sources = new Map<string, SourceUri>();
  const issues = mergeIssues(schemaIssues(yf, 'bundle'), bundleRuleIssues(yf, dir, sources));
  if (issues.length > 0) return { yf, issues, signaturePath };
  const doc = yf.value as BundleDocument;
  const defaultSource = doc.source === undefined ? null : (sources.get('source') ?? null);
  const models = doc.models.map((entry, i): BundleModel => {
    const source = sources.get(`models.${i}`) ?? defaultSource;
    if (source === null) throw new Error(`model ${entry.id} has no source after validation`);
    const model = {
      id: entry.id,
      engine: entry.engine,
      source,
      replicas: entry.replicas ?? 1,
      image: entry.image ?? null,
      encrypted: entry.encrypted ?? false,
      version: entry.version ?? null,
      options: entry.options ?? {},
      location: locationOf(yf, ['models', i]),
    } as BundleModel;
    if (entry.resources !== undefined) model.resources = servingResources(entry.resources);
    if (entry.gpus !== undefined) model.gpus = entry.gpus;
    if (entry.environment !== undefined) model.environment = entry.environment;
    if (entry.args !== undefined) model.args = entry.args;
    return model;
  });
  const manifest: BundleManifest = {
    file: fileName,
    dir,
    name: doc.name,
    signature: signaturePath ?? resolve(dir, doc.signature),
    source: defaultSource,
    models,
  };
  return { yf, issues, manifest, signaturePath };
}

/** Rules beyond the schema; parsed sources land in `sources` keyed `source` / `models.<i>`. */
function bundleRuleIssues(yf: YamlFile, dir: string, sources: Map<string, SourceUri>): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const root = asRecord(yf.value);
  const parseAt = (path: FieldPath, key: string, value: unknown): boolean => {
    const text = asString(value);
    if (text === undefined) return false;
    try {
      sources.set(key, parseSourceUri(text, { baseDir: dir }));
      return true;
    } catch (error) {
      if (!(error instanceof SourceUriError)) throw error;
      issues.push(issueAt(yf, path, error.reason));
      return true;
    }
  };
  const hasDefault = parseAt(['source'], 'source', root?.['source']);
  const firstSeen = new Map<string, number>();
  asArray(root?.['models']).forEach((raw, i) => {
    const model = asRecord(raw);
    if (model === undefined) return;
    const id = asString(model['id']);
    if (id !== undefined) {
      const first = firstSeen.get(id);
      if (first === undefined) firstSeen.set(id, i);
      else issues.push(issueAt(yf, ['models', i, 'id'], `duplicate model id '${id}' (first at line ${locate(yf, ['models', first]).line})`));
    }
    const hasOwn = parseAt(['models', i, 'source'], `models.${i}`, model['source']);
    if (!hasOwn && !hasDefault && model['source'] === undefined) {
      issues.push(issueAt(yf, ['models', i], 'no source: give this model a source or set a default source at the top of the file'));
    }
    issues.push(...modelSettingIssues(yf, i, model));
  });
  return issues;
}

/** Settings the schema cannot relate: one field against another, or a value against an engine default. */
function modelSettingIssues(yf: YamlFile, i: number, model: Record<string, unknown>): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const at = (path: FieldPath, message: string): void => void issues.push(issueAt(yf, ['models', i, ...path], message));
  const options = asRecord(model['options']) ?? {};
  const engine = model['engine'];
  if (model['version'] !== undefined && options['model_version_policy'] !== undefined) {
    at(['options', 'model_version_policy'], 'give version or options.model_version_policy, not both');
  }
  const resources = asRecord(model['resources']);
  const limits = asRecord(resources?.['limits']);
  const reservations = asRecord(resources?.['reservations']);
  for (const part of ['limits', 'reservations'] as const) {
    const cpus = asRecord(resources?.[part])?.['cpus'];
    if (typeof cpus === 'string' && Number(cpus) === 0) at(['resources', part, 'cpus'], 'must be more than 0 CPUs');
  }
  const number = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
  const bytes = (v: unknown): number | undefined => (typeof v === 'number' ? v : typeof v === 'string' ? dockerMemoryBytes(v) : undefined);
  const cpuLimit = number(limits?.['cpus']);
  const cpuReservation = number(reservations?.['cpus']);
  if (cpuLimit !== undefined && cpuReservation !== undefined && cpuReservation > cpuLimit) {
    at(['resources', 'reservations', 'cpus'], `reserves ${cpuReservation} CPUs, more than the limit of ${cpuLimit}`);
  }
  const memLimit = bytes(limits?.['memory']);
  const memReservation = bytes(reservations?.['memory']);
  if (memLimit !== undefined && memReservation !== undefined && memReservation > memLimit) {
    at(['resources', 'reservations', 'memory'], `reserves ${String(reservations?.['memory'])}, more than the limit of ${String(limits?.['memory'])}`);
  }
  if (engine === 'ovms' && options['mount_devices'] === true) {
    const target = asString(options['target_device']);
    const devices = target === undefined ? [] : ovmsDevices(target).filter((d) => d !== 'CPU');
    if (devices.length === 0) at(['options', 'mount_devices'], `target_device ${target ?? 'CPU (the default)'} needs no device: set target_device to GPU, NPU, NVIDIA, AUTO or a list naming one`);
  }
  if (engine === 'triton') {
    const mode = options['model-control-mode'];
    if (options['repository-poll-secs'] !== undefined && mode !== undefined && mode !== 'poll') {
      at(['options', 'repository-poll-secs'], `only with model-control-mode poll (it is ${String(mode)})`);
    }
    const { grpcPort, restPort } = SERVING_ENGINE_DEFAULTS.triton;
    const metricsPort = options['metrics-port'];
    if (metricsPort === grpcPort || metricsPort === restPort) {
      at(['options', 'metrics-port'], `${metricsPort} is Triton's ${metricsPort === grpcPort ? 'gRPC' : 'HTTP'} port; pick another (default 8002)`);
    }
  }
  if (engine === 'tfserving') {
    const batching = asRecord(options['batching']);
    const sizes = asArray(batching?.['allowed_batch_sizes']).filter((n): n is number => typeof n === 'number');
    if (sizes.length > 0) {
      const max = batching?.['max_batch_size'];
      if (sizes.some((n, k) => k > 0 && n <= (sizes[k - 1] as number))) at(['options', 'batching', 'allowed_batch_sizes'], 'must be increasing');
      else if (max === undefined) at(['options', 'batching'], 'allowed_batch_sizes needs max_batch_size, equal to its last entry');
      else if (typeof max === 'number' && sizes[sizes.length - 1] !== max) {
        at(['options', 'batching', 'allowed_batch_sizes'], `must end with max_batch_size (${max}), not ${sizes[sizes.length - 1] as number}`);
      }
    }
  }
  return issues;
}
