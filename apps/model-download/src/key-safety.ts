import { bgError } from '@bundlegate/service-kit';
import { isAbsolute, relative, resolve, sep } from 'node:path';

// control characters, backslashes (a separator elsewhere) and percent-encoded dots/separators that some layer might decode
// eslint-disable-next-line no-control-regex -- rejecting control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f\\]|%(?:2e|2f|5c|00)/i;
// lookalike dots and slashes (fullwidth, one-dot leader, fraction slash, division slash) that normalising tools fold to "." and "/"
const LOOKALIKES = /[\uff0e\u2024\ufe52\uff0f\u2044\u2215\u29f8]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const MAX_SEGMENT_BYTES = 255;

/**
 * Splits an object key (relative to the model's prefix) into path segments, or throws BG_UNSAFE_KEY when
 * it could escape the model directory or mean different things to different layers: absolute paths,
 * empty, "." or ".." segments, backslashes, control characters, percent-encoded dots or separators,
 * malformed Unicode, lookalike dots and slashes, or names too long for the filesystem.
 */
export function keySegments(key: string): string[] {
  const unsafe = () => bgError('BG_UNSAFE_KEY', { key });
  if (key.length === 0 || key.startsWith('/') || LONE_SURROGATE.test(key) || key.normalize('NFC') !== key) throw unsafe();
  if (FORBIDDEN.test(key) || LOOKALIKES.test(key)) throw unsafe();
  const segments = key.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || Buffer.byteLength(s) > MAX_SEGMENT_BYTES) throw unsafe();
  }
  return segments;
}

/** True when `key` passes keySegments. */
export function isSafeKey(key: string): boolean {
  try {
    keySegments(key);
    return true;
  } catch {
    return false;
  }
}

/**
 * Joins a checked key under `root` and re-checks the result lexically, so no later change to keySegments
 * can let a path leave `root`.
 */
export function safeJoin(root: string, key: string): string {
  const segments = keySegments(key);
  const base = resolve(root);
  const target = resolve(base, ...segments);
  const rel = relative(base, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
    throw bgError('BG_UNSAFE_KEY', { key });
  }
  return target;
}

/** Model ids become directory names next to `.staging`: one plain segment, not hidden. */
export function checkModelId(id: string): string {
  const segments = keySegments(id);
  if (segments.length !== 1 || id.startsWith('.')) throw bgError('BG_UNSAFE_KEY', { key: id });
  return id;
}
