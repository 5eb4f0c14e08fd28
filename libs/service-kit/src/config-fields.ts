import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import type { JsonValue } from './errors';
import { formatByteSize, formatDuration, parseByteSize, parseDuration } from './config-units';

// Field builders for config specs: one per value kind, each knowing how to parse, check and show its value.

export type FieldKind =
  | 'string'
  | 'int'
  | 'number'
  | 'bool'
  | 'enum'
  | 'duration'
  | 'bytes'
  | 'list'
  | 'url'
  | 'hostPort'
  | 'path'
  | 'secret'
  | 'positional';

export type ValueSource = 'flag' | 'env' | 'env-file' | 'default' | 'argument';

export interface ParseContext {
  readonly source: ValueSource;
  /** Directory relative paths resolve against. */
  readonly cwd: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };

export interface Field<T> {
  readonly kind: FieldKind;
  /** Flag name as declared (`rest_port`); `--rest_port` and `--rest-port` both match. */
  readonly flag: string | undefined;
  readonly env: string | undefined;
  readonly help: string;
  readonly required: boolean;
  /** Never shown: redacted in dumps, problems and help. */
  readonly secret: boolean;
  /** Bool flags stand alone (`--verbose`, `--no-verbose`); others take a value. */
  readonly takesValue: boolean;
  /** Each occurrence of the flag adds an item (lists). */
  readonly repeatable: boolean;
  /** Short description of accepted values for help and problems: `int 0..65535`. */
  readonly hint: string;
  /** Default as written in the spec, before parsing; undefined when none. */
  readonly defaultRaw: string | readonly string[] | undefined;
  /** Value when nothing sets the field and there is no default (`false` for bool, `[]` for list). */
  readonly emptyValue: T;
  /** Every raw string one source gave (one per flag occurrence; one env value) → the value. */
  parse(raws: readonly string[], ctx: ParseContext): Parsed<T>;
  /** JSON form for dumps (secrets are redacted by the caller). */
  show(value: T): JsonValue;
}

interface CommonOptions {
  /** `rest_port` or `rest-port`; both spellings are accepted on the command line. */
  readonly flag?: string;
  /** Environment variable (also looked up in .env files). */
  readonly env?: string;
  readonly help: string;
}

/**
 * A builder's three shapes: with a default or `required: true` the value is always there; without
 * either it may be undefined. The config type follows from which one the spec used.
 */
export interface FieldBuilder<O, T, D> {
  (options: CommonOptions & O & { readonly default: D; readonly required?: false }): Field<T>;
  (options: CommonOptions & O & { readonly required: true; readonly default?: undefined }): Field<T>;
  (options: CommonOptions & O & { readonly required?: false; readonly default?: undefined }): Field<T | undefined>;
}

type AnyOptions = CommonOptions & { readonly default?: unknown; readonly required?: boolean };

interface KindImpl<T> {
  readonly kind: FieldKind;
  readonly hint: string;
  readonly takesValue?: boolean;
  readonly repeatable?: boolean;
  readonly secret?: boolean;
  readonly emptyValue?: T;
  /** One raw string → value (scalars); lists override `parseAll`. */
  parseOne?(raw: string, ctx: ParseContext): Parsed<T>;
  parseAll?(raws: readonly string[], ctx: ParseContext): Parsed<T>;
  show?(value: T): JsonValue;
  /** How a typed default (a number of ms, a host:port object) is written back as text. */
  defaultToRaw?(value: unknown): string | readonly string[];
}

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = (problem: string): Parsed<never> => ({ ok: false, problem });

function makeField<T>(options: AnyOptions, impl: KindImpl<T>): Field<T> {
  if (!options.flag && !options.env && impl.kind !== 'positional') {
    throw new TypeError(`config field "${options.help}" needs a flag, an env variable, or both`);
  }
  if (options.flag !== undefined && !/^[A-Za-z][A-Za-z0-9_-]*$/.test(options.flag)) {
    throw new TypeError(`config flag "${options.flag}" must be letters, digits, "_" or "-", without leading dashes`);
  }
  if (options.env !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(options.env)) {
    throw new TypeError(`config env variable "${options.env}" is not a valid variable name`);
  }
  const defaultRaw =
    options.default === undefined
      ? undefined
      : impl.defaultToRaw
        ? impl.defaultToRaw(options.default)
        : Array.isArray(options.default)
          ? (options.default as unknown[]).map(String)
          : String(options.default);
  const field: Field<T> = {
    kind: impl.kind,
    flag: options.flag,
    env: options.env,
    help: options.help,
    required: options.required === true,
    secret: impl.secret === true,
    takesValue: impl.takesValue !== false,
    repeatable: impl.repeatable === true,
    hint: impl.hint,
    defaultRaw,
    emptyValue: impl.emptyValue as T,
    parse(raws, ctx) {
      if (impl.parseAll) return impl.parseAll(raws, ctx);
      // scalars: the loader only passes several raws for repeatable fields
      return (impl.parseOne as NonNullable<KindImpl<T>['parseOne']>)(raws[raws.length - 1] ?? '', ctx);
    },
    show: (value) => (impl.show ? impl.show(value) : (value as JsonValue)),
  };
  // a default that does not parse is a bug in the spec: fail where the spec is written
  if (defaultRaw !== undefined) {
    const check = field.parse(typeof defaultRaw === 'string' ? [defaultRaw] : defaultRaw, {
      source: 'default',
      cwd: process.cwd(),
    });
    if (!check.ok && impl.kind !== 'path') {
      throw new TypeError(`config default ${JSON.stringify(options.default)} for ${options.flag ?? options.env}: ${check.problem}`);
    }
  }
  return field;
}

function builder<O, T, D>(impl: (options: O & AnyOptions) => KindImpl<T>): FieldBuilder<O, T, D> {
  return ((options: O & AnyOptions) => makeField(options, impl(options))) as FieldBuilder<O, T, D>;
}

function range(min: number | undefined, max: number | undefined, show: (n: number) => string = String): string {
  if (min !== undefined && max !== undefined) return ` ${show(min)}..${show(max)}`;
  if (min !== undefined) return ` >= ${show(min)}`;
  if (max !== undefined) return ` <= ${show(max)}`;
  return '';
}

function inRange(n: number, min: number | undefined, max: number | undefined): boolean {
  return (min === undefined || n >= min) && (max === undefined || n <= max);
}

// ---- scalar kinds

export const string: FieldBuilder<Record<never, never>, string, string> = builder(() => ({
  kind: 'string',
  hint: 'string',
  parseOne: (raw) => ok(raw),
}));

export interface NumberOptions {
  readonly min?: number;
  readonly max?: number;
}

export const int: FieldBuilder<NumberOptions, number, number> = builder((o) => {
  const hint = `int${range(o.min, o.max)}`;
  return {
    kind: 'int',
    hint,
    parseOne: (raw) => {
      const s = raw.trim();
      const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
      if (!Number.isSafeInteger(n) || !inRange(n, o.min, o.max)) return bad(`expected an integer${range(o.min, o.max)}`);
      return ok(n);
    },
  };
});

export const number: FieldBuilder<NumberOptions, number, number> = builder((o) => ({
  kind: 'number',
  hint: `number${range(o.min, o.max)}`,
  parseOne: (raw) => {
    const s = raw.trim();
    const n = s === '' ? NaN : Number(s);
    if (!Number.isFinite(n) || !inRange(n, o.min, o.max)) return bad(`expected a number${range(o.min, o.max)}`);
    return ok(n);
  },
}));

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** A switch: `--flag`, `--flag=false`, `--no-flag`; env true/false/1/0/yes/no/on/off. Unset is `false`. */
export function bool(options: CommonOptions & { readonly default?: boolean }): Field<boolean> {
  return makeField<boolean>(options, {
    kind: 'bool',
    hint: 'bool',
    takesValue: false,
    emptyValue: false,
    parseOne: (raw) => {
      const s = raw.trim().toLowerCase();
      if (TRUE_WORDS.has(s)) return ok(true);
      if (FALSE_WORDS.has(s)) return ok(false);
      return bad('expected true or false (also 1/0, yes/no, on/off)');
    },
  });
}

interface EnumOptions<V extends readonly [string, ...string[]]> extends CommonOptions {
  readonly values: V;
}

/** One of a fixed set of words, matched case-insensitively and returned as declared. */
export function oneOf<const V extends readonly [string, ...string[]]>(
  options: EnumOptions<V> & { readonly default: V[number]; readonly required?: false },
): Field<V[number]>;
export function oneOf<const V extends readonly [string, ...string[]]>(
  options: EnumOptions<V> & { readonly required: true; readonly default?: undefined },
): Field<V[number]>;
export function oneOf<const V extends readonly [string, ...string[]]>(
  options: EnumOptions<V> & { readonly required?: false; readonly default?: undefined },
): Field<V[number] | undefined>;
export function oneOf<const V extends readonly [string, ...string[]]>(
  options: EnumOptions<V> & { readonly default?: V[number]; readonly required?: boolean },
): Field<V[number] | undefined> {
  const values: readonly string[] = options.values;
  return makeField<V[number]>(options, {
    kind: 'enum',
    hint: values.join('|'),
    parseOne: (raw) => {
      const found = values.find((v) => v.toLowerCase() === raw.trim().toLowerCase());
      return found === undefined ? bad(`expected one of ${values.join(', ')}`) : ok(found as V[number]);
    },
  });
}

/** Milliseconds, written "30s", "500ms", "1m30s", "2h" or "0"; a default may be either form. */
export const duration: FieldBuilder<NumberOptions, number, number | string> = builder((o) => {
  const r = range(o.min, o.max, formatDuration);
  return {
    kind: 'duration',
    hint: `duration${r}`,
    parseOne: (raw) => {
      const ms = parseDuration(raw);
      if (ms === undefined || !inRange(ms, o.min, o.max)) return bad(`expected a duration like 30s or 500ms${r}`);
      return ok(ms);
    },
    show: (ms) => formatDuration(ms),
    defaultToRaw: (d) => (typeof d === 'number' ? formatDuration(d) : String(d)),
  };
});

/** Bytes, written "100MiB", "1.5GB", "64k" (K/M/G = 1024ⁿ like docker and nginx) or a plain number. */
export const bytes: FieldBuilder<NumberOptions, number, number | string> = builder((o) => {
  const r = range(o.min, o.max, formatByteSize);
  return {
    kind: 'bytes',
    hint: `size${r}`,
    parseOne: (raw) => {
      const n = parseByteSize(raw);
      if (n === undefined || !inRange(n, o.min, o.max)) return bad(`expected a size like 100MiB or 4096${r}`);
      return ok(n);
    },
    show: (n) => formatByteSize(n),
    defaultToRaw: (d) => String(d),
  };
});

export interface UrlOptions {
  /** Allowed schemes without the colon, e.g. `['gs', 's3', 'file']`. */
  readonly protocols?: readonly string[];
}

/** An absolute URL (kept as written); credentials and signature parameters are redacted when shown. */
export const url: FieldBuilder<UrlOptions, string, string> = builder((o) => {
  const protocols = o.protocols?.map((p) => p.replace(/:$/, '').toLowerCase());
  const expected = protocols ? `a ${protocols.map((p) => `${p}://`).join(' or ')} URL` : 'an absolute URL';
  return {
    kind: 'url',
    hint: protocols ? `url (${protocols.join('|')})` : 'url',
    parseOne: (raw) => {
      let parsed: URL;
      try {
        parsed = new URL(raw.trim());
      } catch {
        return bad(`expected ${expected}`);
      }
      if (protocols && !protocols.includes(parsed.protocol.replace(/:$/, ''))) return bad(`expected ${expected}`);
      return ok(raw.trim());
    },
    show: (value) => redactUrl(value),
  };
});

const SECRET_QUERY_PARAM = /sig|token|secret|password|passwd|credential|key/i;
export const REDACTED = '[redacted]';

/** Password and signature-like query parameters replaced, so a URL can be logged. */
export function redactUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return value;
  }
  let changed = false;
  if (u.password) {
    u.password = REDACTED;
    changed = true;
  }
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_QUERY_PARAM.test(name)) {
      u.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  return changed ? u.toString() : value;
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "host:port" for a gRPC target or a dial address; IPv6 in brackets. */
export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** "host:port" → { host, port }; undefined when malformed. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s/]+)):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

/** "host:port" (IPv6 as "[::1]:9000") → { host, port }. */
export const hostPort: FieldBuilder<Record<never, never>, HostPort, string | HostPort> = builder(() => ({
  kind: 'hostPort',
  hint: 'host:port',
  parseOne: (raw) => {
    const hp = parseHostPort(raw);
    return hp ? ok(hp) : bad('expected host:port, like localhost:8080 or [::1]:8080');
  },
  show: (hp) => formatHostPort(hp),
  defaultToRaw: (d) => (typeof d === 'string' ? d : formatHostPort(d as HostPort)),
}));

export interface PathOptions {
  /** Check at load time that it exists (as a file, a directory, or either). */
  readonly mustExist?: 'file' | 'dir' | 'any';
}

function checkPath(abs: string, mustExist: PathOptions['mustExist']): string | undefined {
  if (!mustExist) return undefined;
  let stat;
  try {
    stat = statSync(abs);
  } catch {
    return `${abs} does not exist`;
  }
  if (mustExist === 'file' && !stat.isFile()) return `${abs} is not a file`;
  if (mustExist === 'dir' && !stat.isDirectory()) return `${abs} is not a directory`;
  return undefined;
}

/** A filesystem path, made absolute against the working directory. */
export const filePath: FieldBuilder<PathOptions, string, string> = builder((o) => ({
  kind: 'path',
  hint: o.mustExist === 'dir' ? 'dir' : o.mustExist === 'file' ? 'file' : 'path',
  parseOne: (raw, ctx) => {
    if (raw.trim() === '') return bad('expected a path');
    const abs = isAbsolute(raw) ? raw : resolve(ctx.cwd, raw);
    const problem = checkPath(abs, o.mustExist);
    return problem ? bad(problem) : ok(abs);
  },
}));

/** A credential or key: the value is never printed (dumps, problems and help show "[redacted]"). */
export const secret: FieldBuilder<Record<never, never>, string, string> = builder(() => ({
  kind: 'secret',
  hint: 'secret',
  secret: true,
  parseOne: (raw) => (raw === '' ? bad('expected a non-empty value') : ok(raw)),
}));

// ---- repeatable and positional kinds

export interface ListOptions<T> extends CommonOptions {
  /** Parse and check one item; throw an Error whose message says what was expected. */
  readonly item?: (raw: string) => T;
  /** Separates items in env values (default ","); flags give one item per occurrence. */
  readonly separator?: string;
  /** Items as they would be written on the command line (each goes through `item`). */
  readonly default?: readonly string[];
}

/** Repeatable flag (`--model a --model b`) or a separated env value (`MODELS=a,b`). Unset is `[]`. */
export function list<T = string>(options: ListOptions<T>): Field<readonly T[]> {
  const separator = options.separator ?? ',';
  const parseItem = options.item ?? ((raw: string) => raw as T);
  return makeField<readonly T[]>(options, {
    kind: 'list',
    hint: 'list',
    repeatable: true,
    emptyValue: [],
    parseAll: (raws, ctx) => {
      // an env value carries the whole list in one string; flags and defaults carry one item each
      const items = ctx.source === 'env' || ctx.source === 'env-file' ? raws.flatMap((r) => r.split(separator)) : raws;
      const out: T[] = [];
      for (const rawItem of items) {
        const item = rawItem.trim();
        if (item === '') continue;
        try {
          out.push(parseItem(item));
        } catch (err) {
          return bad(`item ${JSON.stringify(item)}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      return ok(out);
    },
    show: (items) => items.map((i) => (typeof i === 'object' && i !== null ? JSON.stringify(i) : String(i))),
  });
}

export interface PositionalOptions {
  /** Name in usage and problems, e.g. `IN`. */
  readonly name: string;
  readonly help: string;
  readonly required?: boolean;
  readonly default?: string;
}

/** A bare command-line argument, taken in the order positional fields appear in the spec. */
export function positional(options: PositionalOptions & { readonly required: true }): Field<string>;
export function positional(options: PositionalOptions & { readonly default: string }): Field<string>;
export function positional(options: PositionalOptions): Field<string | undefined>;
export function positional(options: PositionalOptions): Field<string | undefined> {
  return makeField<string>(options, {
    kind: 'positional',
    hint: options.name,
    parseOne: (raw) => ok(raw),
  });
}
