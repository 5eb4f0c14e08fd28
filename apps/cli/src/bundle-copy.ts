import { posix } from 'node:path';
import { formatSourceUri, type BundleManifest, type BundleModel, type ResourcesEntry, type ServingResources, type SourceUri } from '@bundlegate/bundle';
import { toYaml } from './text';

// The bundle as a container sees it: bundle.yaml rewritten so its signature sits beside it and every
// file:// source points at the directory the deployment mounts it on.

/** A file:// source directory on the host and where containers find it. */
export interface FileSourceMount {
  /** Absolute host directory. */
  readonly hostPath: string;
  /** Directory inside the containers: `/buckets/1`, `/buckets/2`, … in order of first use. */
  readonly containerPath: string;
}

export const SIGNATURE_FILE = 'bundle-signature.yaml';
export const BUNDLE_FILE = 'bundle.yaml';

/** Every distinct file:// source of the bundle (default first, then per model), mapped to `/buckets/<n>`. */
export function fileSourceMounts(bundle: BundleManifest): FileSourceMount[] {
  const paths: string[] = [];
  for (const source of [bundle.source, ...bundle.models.map((m) => m.source)]) {
    if (source?.scheme === 'file' && !paths.includes(source.path)) paths.push(source.path);
  }
  return paths.map((hostPath, i) => ({ hostPath, containerPath: `/buckets/${i + 1}` }));
}

/** The source as the containers see it. */
export function containerSource(source: SourceUri, mounts: readonly FileSourceMount[]): string {
  if (source.scheme !== 'file') return formatSourceUri(source);
  const mount = mounts.find((m) => m.hostPath === source.path);
  if (mount === undefined) throw new Error(`no mount for file source ${source.path}`);
  return `file://${posix.normalize(mount.containerPath)}`;
}

function modelEntry(model: BundleModel, defaultSource: string | undefined, mounts: readonly FileSourceMount[]): Record<string, unknown> {
  const entry: Record<string, unknown> = { id: model.id, engine: model.engine };
  const source = containerSource(model.source, mounts);
  if (source !== defaultSource) entry['source'] = source;
  if (model.replicas !== 1) entry['replicas'] = model.replicas;
  if (model.image !== null) entry['image'] = model.image;
  if (model.encrypted) entry['encrypted'] = true;
  if (model.version !== null) entry['version'] = model.version;
  if (model.resources !== undefined) entry['resources'] = resourcesEntry(model.resources);
  if (model.gpus !== undefined) entry['gpus'] = model.gpus;
  if (model.environment !== undefined) entry['environment'] = model.environment;
  if (model.args !== undefined) entry['args'] = model.args;
  if (Object.keys(model.options).length > 0) entry['options'] = model.options;
  return entry;
}

/** `resources` back in bundle.yaml's shape. */
function resourcesEntry(r: ServingResources): ResourcesEntry {
  const part = (cpus: string | undefined, memory: string | undefined) => ({ ...(cpus === undefined ? {} : { cpus }), ...(memory === undefined ? {} : { memory }) });
  const limits = part(r.cpuLimit, r.memLimit);
  const reservations = part(r.cpuReservation, r.memReservation);
  return { ...(Object.keys(limits).length > 0 ? { limits } : {}), ...(Object.keys(reservations).length > 0 ? { reservations } : {}) };
}

/** bundle.yaml text for the containers: same models and settings, sources remapped, signature beside it. */
export function containerBundleYaml(bundle: BundleManifest, mounts: readonly FileSourceMount[], header: string): string {
  const defaultSource = bundle.source === null ? undefined : containerSource(bundle.source, mounts);
  const doc: Record<string, unknown> = { name: bundle.name, signature: SIGNATURE_FILE };
  if (defaultSource !== undefined) doc['source'] = defaultSource;
  doc['models'] = bundle.models.map((m) => modelEntry(m, defaultSource, mounts));
  return `${header}\n${toYaml(doc)}`;
}
