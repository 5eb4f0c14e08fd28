// OVMS model_version_policy: which of the versions found on disk are served.

export type VersionPolicy =
  | { readonly kind: 'latest'; readonly numVersions: number }
  | { readonly kind: 'specific'; readonly versions: readonly number[] }
  | { readonly kind: 'all' };

/** OVMS's default: serve the highest version only. */
export const DEFAULT_VERSION_POLICY: VersionPolicy = { kind: 'latest', numVersions: 1 };

/** The versions `policy` serves out of `available`, highest first. */
export function selectVersions(policy: VersionPolicy, available: Iterable<number>): number[] {
  const sorted = [...new Set(available)].sort((a, b) => b - a);
  switch (policy.kind) {
    case 'all':
      return sorted;
    case 'latest':
      return sorted.slice(0, policy.numVersions);
    case 'specific': {
      const wanted = new Set(policy.versions);
      return sorted.filter((v) => wanted.has(v));
    }
  }
}

/** `{"latest": {"num_versions": 2}}` style, as config.json and `--model_version_policy` write it. */
export function formatVersionPolicy(policy: VersionPolicy): Record<string, unknown> {
  switch (policy.kind) {
    case 'all':
      return { all: {} };
    case 'latest':
      return { latest: { num_versions: policy.numVersions } };
    case 'specific':
      return { specific: { versions: [...policy.versions] } };
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const isVersionNumber = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Parses an OVMS `model_version_policy` object. Returns the policy, or a list of problems each naming
 * the offending path under `where`.
 */
export function parseVersionPolicy(value: unknown, where = 'model_version_policy'): VersionPolicy | string[] {
  if (!isPlainObject(value)) return [`${where} must be an object like {"latest": {"num_versions": 1}}`];
  const keys = Object.keys(value);
  if (keys.length !== 1) {
    return [`${where} must have exactly one of "latest", "specific" or "all", got ${keys.length === 0 ? 'none' : keys.join(', ')}`];
  }
  const key = keys[0] as string;
  const body = value[key];
  if (!isPlainObject(body)) return [`${where}.${key} must be an object`];
  switch (key) {
    case 'all':
      return Object.keys(body).length === 0 ? { kind: 'all' } : [`${where}.all takes no settings: write {"all": {}}`];
    case 'latest': {
      const extra = Object.keys(body).filter((k) => k !== 'num_versions');
      if (extra.length > 0) return [`${where}.latest has unknown setting ${extra.join(', ')}; only num_versions`];
      const n = body.num_versions ?? 1;
      return isVersionNumber(n) ? { kind: 'latest', numVersions: n } : [`${where}.latest.num_versions must be a positive integer, got ${JSON.stringify(n)}`];
    }
    case 'specific': {
      const extra = Object.keys(body).filter((k) => k !== 'versions');
      if (extra.length > 0) return [`${where}.specific has unknown setting ${extra.join(', ')}; only versions`];
      const versions = body.versions;
      if (!Array.isArray(versions) || versions.length === 0 || !versions.every(isVersionNumber)) {
        return [`${where}.specific.versions must be a non-empty array of positive integers, got ${JSON.stringify(versions)}`];
      }
      return { kind: 'specific', versions: [...new Set(versions)].sort((a, b) => a - b) };
    }
    default:
      return [`${where} has unknown kind "${key}"; expected "latest", "specific" or "all"`];
  }
}
