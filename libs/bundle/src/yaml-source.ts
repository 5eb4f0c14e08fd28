import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Document } from 'yaml';
import type { BundleIssue } from './bundle-file-error';

/** A field path: map keys as strings, list indexes as numbers. */
export type FieldPath = readonly (string | number)[];

/** Fields whose plain scalars are read as the text written, so `id: 0123` or `- 1` stay strings. */
export interface TextFields {
  keys: ReadonlySet<string>;
  /** Keys whose list items are read as text. */
  listKeys: ReadonlySet<string>;
  /** Keys under which every value, however deep, is read as text (map keys are names already). */
  deepKeys?: ReadonlySet<string>;
}

/** A YAML file parsed with positions kept, so any field path can be reported as file:line:col. */
export interface YamlFile {
  file: string;
  doc: Document.Parsed;
  lineCounter: LineCounter;
  /** The document as plain data; undefined when the YAML itself is malformed. */
  value: unknown;
  /** Syntax problems; when any exist `value` is undefined. */
  issues: BundleIssue[];
}

export function readYaml(text: string, file: string, textFields: TextFields): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const yf: YamlFile = { file, doc, lineCounter, value: undefined, issues: [] };
  for (const problem of [...doc.errors, ...doc.warnings]) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    // Only a duplicate key leaves the tree sound enough to name a field path.
    const path = problem.code === 'DUPLICATE_KEY' ? formatPath(pathAtOffset(yf, problem.pos[0])) : '';
    yf.issues.push({ file, line, column: col, path, message: problem.message.trim() });
  }
  if (yf.issues.length > 0) return yf;
  keepWrittenText(doc, textFields);
  yf.value = doc.toJS({ maxAliasCount: 1000 }) ?? null;
  return yf;
}

function keepWrittenText(doc: Document.Parsed, { keys, listKeys, deepKeys }: TextFields): void {
  const asText = (node: unknown): void => {
    if (isScalar(node) && node.value !== null && typeof node.value !== 'string' && node.source !== undefined) {
      node.value = node.source;
    }
  };
  visit(doc, {
    Pair(_, pair) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) return;
      if (keys.has(key)) asText(pair.value);
      if (listKeys.has(key) && isSeq(pair.value)) pair.value.items.forEach(asText);
      if (deepKeys?.has(key) && (isMap(pair.value) || isSeq(pair.value))) {
        visit(pair.value, {
          Scalar(at, node) {
            if (at !== 'key') asText(node);
          },
        });
      }
    },
  });
}

/** Position of the node at `path`, or of its deepest existing ancestor; `atKey` points at the key of the last segment. */
export function locate(yf: YamlFile, path: FieldPath, atKey = false): { line: number; column: number } {
  let node: unknown = yf.doc.contents;
  let target: unknown = node;
  for (let i = 0; i < path.length; i += 1) {
    const segment = path[i];
    node = isAlias(node) ? node.resolve(yf.doc) : node;
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair === undefined) break;
      if ((atKey && i === path.length - 1) || !hasRange(pair.value)) {
        target = pair.key;
        break;
      }
      next = pair.value;
    } else if (isSeq(node)) {
      next = node.items[Number(segment)];
      if (!hasRange(next)) break;
    } else {
      break;
    }
    node = next;
    target = next;
  }
  const offset = hasRange(target) ? target.range[0] : 0;
  const { line, col } = yf.lineCounter.linePos(offset);
  return { line, column: col };
}

/** Path of the deepest node whose source range holds `offset` (for syntax errors). */
function pathAtOffset(yf: YamlFile, offset: number): (string | number)[] {
  const path: (string | number)[] = [];
  let node: unknown = yf.doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => covers(p.key, offset) || covers(p.value, offset));
      if (pair === undefined || !isScalar(pair.key)) return path;
      path.push(String(pair.key.value));
      if (!covers(pair.value, offset)) return path;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => covers(item, offset));
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

function hasRange(node: unknown): node is { range: [number, number, number] } {
  return typeof node === 'object' && node !== null && !isPair(node) && Array.isArray((node as { range?: unknown }).range);
}

function covers(node: unknown, offset: number): boolean {
  return hasRange(node) && node.range[0] <= offset && offset < Math.max(node.range[1], node.range[0] + 1);
}

/** `models.demo.models[0].id`; keys that are not plain words are quoted: `models["a.b"]`. */
export function formatPath(path: FieldPath): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      if (/^[A-Za-z_][\w-]*$/.test(segment)) return i === 0 ? segment : `.${segment}`;
      return `[${JSON.stringify(segment)}]`;
    })
    .join('');
}

/** Where the node at `path` was written. */
export function locationOf(yf: YamlFile, path: FieldPath): { file: string; line: number; column: number; path: string } {
  return { file: yf.file, ...locate(yf, path), path: formatPath(path) };
}

/** An issue at `path` of `yf`, positioned at that node (or its key when `atKey`). */
export function issueAt(yf: YamlFile, path: FieldPath, message: string, atKey = false): BundleIssue {
  const { line, column } = locate(yf, path, atKey);
  return { file: yf.file, line, column, path: formatPath(path), message };
}

/** Keys of the mapping at `path` in file order (plain objects put integer-like keys first). */
export function mapKeys(yf: YamlFile, path: FieldPath): string[] {
  const node = yf.doc.getIn(path, true);
  const map = isAlias(node) ? node.resolve(yf.doc) : node;
  return isMap(map) ? map.items.flatMap((p) => (isScalar(p.key) ? [String(p.key.value)] : [])) : [];
}

/** Schema and rule issues in the order an editor lists them; a rule issue, being more specific, replaces schema issues at its path. */
export function mergeIssues(schema: readonly BundleIssue[], rules: readonly BundleIssue[]): BundleIssue[] {
  const specific = new Set(rules.map((i) => i.path));
  return [...schema.filter((i) => !specific.has(i.path)), ...rules].sort(
    (a, b) => a.line - b.line || a.column - b.column || a.path.localeCompare(b.path),
  );
}
