import { isAbsolute, relative, sep } from 'node:path';
import { stringify } from 'yaml';

// Output text helpers shared by the generators.

/** YAML as people write it: no line folding, no anchors for objects that appear twice. */
export function toYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * `to` as seen from directory `from`: relative (POSIX separators) when the two share a directory
 * below the filesystem root, so generated files stay valid when the tree is moved; absolute otherwise.
 */
export function pathFrom(from: string, to: string): string {
  const rel = relative(from, to);
  const common = rel.split(sep).filter((s) => s === '..').length;
  const fromDepth = from.split(sep).filter((s) => s !== '').length;
  if (isAbsolute(rel) || common >= fromDepth) return to;
  return rel.split(sep).join('/');
}
