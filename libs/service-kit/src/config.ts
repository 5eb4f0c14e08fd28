import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { BgError, type JsonValue } from './errors';
import { REDACTED, type Field, type ParseContext, type ValueSource } from './config-fields';

// Service configuration: flags, then env, then .env files, then defaults. Every field is parsed,
// every problem is collected, and only then does loading fail — with all of them at once.

/** A service's settings: one named field per setting. */
export type ConfigSpec = { readonly [key: string]: Field<unknown> };

/** The typed config a spec produces. */
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

export interface LoadConfigOptions<C = unknown> {
  /** Command-line arguments without node and script (default `process.argv.slice(2)`). */
  readonly argv?: readonly string[];
  /** Environment (default `process.env`). Empty values count as unset, as compose `${VAR:-}` leaves them. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** .env files, earlier ones winning; files that do not exist are skipped. */
  readonly envFiles?: readonly string[];
  /** Relative paths (file fields, envFiles) resolve against this (default `process.cwd()`). */
  readonly cwd?: string;
  /** Checks across fields, run once every field parsed; return one message per problem. */
  readonly validate?: (config: C) => readonly string[] | void;
}

export interface ConfigProblem {
  /** Spec key, or undefined for problems not tied to one field (unknown flag, extra argument). */
  readonly key: string | undefined;
  /** `--rest_port` as declared. */
  readonly flag: string | undefined;
  readonly env: string | undefined;
  readonly source: ValueSource | undefined;
  /** The offending raw value (redacted for secrets). */
  readonly value: string | undefined;
  readonly message: string;
}

/** One line per problem, naming the flag and the env variable. */
export function formatProblem(p: ConfigProblem): string {
  const names = [p.flag, p.env].filter((n): n is string => n !== undefined).join(' / ');
  const where = p.source === 'flag' ? p.flag : p.source === 'env' ? p.env : p.source === 'env-file' ? `${p.env} in .env` : p.source;
  const value = p.value === undefined ? '' : `${JSON.stringify(p.value)}${where ? ` (from ${where})` : ''}: `;
  return `${names ? `${names}: ` : ''}${value}${p.message}`;
}

export class ConfigError extends BgError<'BG_CONFIG_INVALID'> {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super('BG_CONFIG_INVALID', { problems: problems.map(formatProblem) });
    this.problems = problems;
  }
}

const normalizeFlag = (name: string): string => name.replace(/_/g, '-');

function dashed(field: Field<unknown>): string | undefined {
  return field.flag === undefined ? undefined : `--${field.flag}`;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(cur + 1, (row[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length] as number;
}

function suggestFlag(name: string, spec: ConfigSpec): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const field of Object.values(spec)) {
    if (field.flag === undefined) continue;
    const d = editDistance(normalizeFlag(name), normalizeFlag(field.flag));
    if (d < bestDistance) {
      best = field.flag;
      bestDistance = d;
    }
  }
  return best === undefined ? '' : `; did you mean --${best}?`;
}

interface Indexed {
  readonly byFlag: ReadonlyMap<string, string>;
  readonly positionals: readonly string[];
}

function indexSpec(spec: ConfigSpec): Indexed {
  const byFlag = new Map<string, string>();
  const byEnv = new Map<string, string>();
  const positionals: string[] = [];
  for (const [key, field] of Object.entries(spec)) {
    if (field.kind === 'positional') positionals.push(key);
    if (field.flag !== undefined) {
      const norm = normalizeFlag(field.flag);
      if (byFlag.has(norm) || norm === 'help') throw new TypeError(`config flag --${field.flag} is declared twice (or is --help)`);
      byFlag.set(norm, key);
    }
    if (field.env !== undefined) {
      if (byEnv.has(field.env)) throw new TypeError(`config env variable ${field.env} is declared twice`);
      byEnv.set(field.env, key);
    }
  }
  return { byFlag, positionals };
}

interface ArgvResult {
  readonly byKey: Map<string, string[]>;
  readonly positionalValues: string[];
}

function scanArgv(argv: readonly string[], spec: ConfigSpec, index: Indexed, problems: ConfigProblem[]): ArgvResult {
  const byKey = new Map<string, string[]>();
  const positionalValues: string[] = [];
  const problem = (message: string, key?: string, value?: string): void => {
    const field = key === undefined ? undefined : spec[key];
    problems.push({
      key,
      flag: field && dashed(field),
      env: field?.env,
      source: 'flag',
      value: field?.secret && value !== undefined ? REDACTED : value,
      message,
    });
  };
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string;
    if (token === '--') {
      positionalValues.push(...argv.slice(i + 1));
      break;
    }
    if (!token.startsWith('-') || token === '-') {
      positionalValues.push(token);
      continue;
    }
    const body = token.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    let value = eq === -1 ? undefined : body.slice(eq + 1);
    const norm = normalizeFlag(name);
    let key = index.byFlag.get(norm);
    if (key === undefined && norm.startsWith('no-') && value === undefined) {
      const negated = index.byFlag.get(norm.slice(3));
      if (negated !== undefined && spec[negated]?.kind === 'bool') {
        key = negated;
        value = 'false';
      }
    }
    if (key === undefined || !token.startsWith('--')) {
      problems.push({
        key: undefined,
        flag: `--${name}`,
        env: undefined,
        source: 'flag',
        value: undefined,
        message: `unknown flag${token.startsWith('--') ? '' : ' (flags start with "--")'}${suggestFlag(name, spec)}`,
      });
      // its value, if it has one, is not a positional argument
      const next = argv[i + 1];
      if (value === undefined && next !== undefined && !next.startsWith('-')) i++;
      continue;
    }
    const field = spec[key] as Field<unknown>;
    if (value === undefined) {
      if (!field.takesValue) {
        value = 'true';
      } else {
        const next = argv[i + 1];
        if (next === undefined || next.startsWith('--')) {
          problem(`needs a value (${field.hint})`, key);
          continue;
        }
        value = next;
        i++;
      }
    }
    const seen = byKey.get(key) ?? [];
    seen.push(value);
    byKey.set(key, seen);
  }
  for (const [key, values] of byKey) {
    const field = spec[key] as Field<unknown>;
    if (values.length > 1 && !field.repeatable) problem(`given ${values.length} times; give it once`, key);
  }
  return { byKey, positionalValues };
}

function readEnvFiles(paths: readonly string[], cwd: string, problems: ConfigProblem[]): Map<string, string> {
  const merged = new Map<string, string>();
  for (const p of paths) {
    const abs = resolve(cwd, p);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      problems.push({
        key: undefined,
        flag: undefined,
        env: undefined,
        source: 'env-file',
        value: undefined,
        message: `cannot read env file ${abs}: ${(err as Error).message}`,
      });
      continue;
    }
    for (const [name, value] of Object.entries(parseDotenv(text))) {
      if (!merged.has(name)) merged.set(name, value);
    }
  }
  return merged;
}

/** The raw strings for one field and where they came from, by precedence; undefined when unset. */
function pickRaw(
  key: string,
  field: Field<unknown>,
  argvResult: ArgvResult,
  positionalIndex: number,
  env: Readonly<Record<string, string | undefined>>,
  fileEnv: ReadonlyMap<string, string>,
): { raws: readonly string[]; source: ValueSource } | undefined {
  if (field.kind === 'positional') {
    const v = argvResult.positionalValues[positionalIndex];
    if (v !== undefined) return { raws: [v], source: 'argument' };
  }
  const fromFlags = argvResult.byKey.get(key);
  if (fromFlags && fromFlags.length > 0) return { raws: fromFlags, source: 'flag' };
  if (field.env !== undefined) {
    const v = env[field.env];
    if (v !== undefined && v !== '') return { raws: [v], source: 'env' };
    const f = fileEnv.get(field.env);
    if (f !== undefined && f !== '') return { raws: [f], source: 'env-file' };
  }
  if (field.defaultRaw !== undefined) {
    return { raws: typeof field.defaultRaw === 'string' ? [field.defaultRaw] : field.defaultRaw, source: 'default' };
  }
  return undefined;
}

function howToSet(field: Field<unknown>): string {
  const ways = [dashed(field), field.env].filter((w): w is string => w !== undefined);
  return ways.length > 0 ? `required: set ${ways.join(' or ')}` : `required: give ${field.hint}`;
}

/**
 * Parse every field of `spec` from flags, env, .env files and defaults. Returns the typed config,
 * or throws a ConfigError listing every problem found (unknown flags, missing required settings,
 * malformed or out-of-range values, failed cross-field checks).
 */
export function loadConfig<S extends ConfigSpec>(spec: S, options: LoadConfigOptions<ConfigOf<S>> = {}): ConfigOf<S> {
  const argv = options.argv ?? process.argv.slice(2);
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const problems: ConfigProblem[] = [];
  const index = indexSpec(spec);
  const argvResult = scanArgv(argv, spec, index, problems);
  const fileEnv = readEnvFiles(options.envFiles ?? [], cwd, problems);

  const extra = argvResult.positionalValues.slice(index.positionals.length);
  for (const arg of extra) {
    problems.push({ key: undefined, flag: undefined, env: undefined, source: 'argument', value: arg, message: 'unexpected argument' });
  }

  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(spec)) {
    const picked = pickRaw(key, field, argvResult, index.positionals.indexOf(key), env, fileEnv);
    const base = { key, flag: field.kind === 'positional' ? field.hint : dashed(field), env: field.env };
    if (picked === undefined) {
      if (field.required) problems.push({ ...base, source: undefined, value: undefined, message: howToSet(field) });
      out[key] = field.emptyValue;
      continue;
    }
    const ctx: ParseContext = { source: picked.source, cwd };
    const parsed = field.parse(picked.raws, ctx);
    if (parsed.ok) {
      out[key] = parsed.value;
    } else {
      const shown = field.secret ? REDACTED : picked.raws.join(', ');
      problems.push({ ...base, source: picked.source, value: shown, message: parsed.problem });
    }
  }

  if (problems.length === 0 && options.validate) {
    for (const message of options.validate(out as ConfigOf<S>) ?? []) {
      problems.push({ key: undefined, flag: undefined, env: undefined, source: undefined, value: undefined, message });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(out) as ConfigOf<S>;
}

/** True when the command line asks for help (`--help` or `-h` before any `--`). */
export function wantsHelp(argv: readonly string[] = process.argv.slice(2)): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

export interface HelpOptions {
  /** Program name in the usage line. */
  readonly name: string;
  /** One paragraph under the usage line. */
  readonly summary?: string;
}

function showDefault(field: Field<unknown>): string | undefined {
  if (field.defaultRaw === undefined) return undefined;
  if (field.secret) return REDACTED;
  return typeof field.defaultRaw === 'string' ? field.defaultRaw : field.defaultRaw.join(' ');
}

/** `--help` text generated from the spec: every flag with its env variable, accepted values and default. */
export function helpText(spec: ConfigSpec, options: HelpOptions): string {
  const entries = Object.values(spec);
  const positionals = entries.filter((f) => f.kind === 'positional');
  const usage = [`Usage: ${options.name} [options]`, ...positionals.map((f) => (f.required ? f.hint : `[${f.hint}]`))].join(' ');
  const lines = [usage, ''];
  if (options.summary) lines.push(options.summary, '');
  if (positionals.length > 0) {
    lines.push('Arguments:');
    for (const f of positionals) lines.push(`  ${f.hint}${f.required ? '' : ' (optional)'}`, `      ${f.help}`);
    lines.push('');
  }
  lines.push('Options (flags may be written --snake_case or --kebab-case, --flag=value or --flag value):');
  for (const f of entries) {
    if (f.kind === 'positional') continue;
    const flag =
      f.flag === undefined ? `${f.env}=<${f.hint}> (env only)` : f.takesValue ? `--${f.flag} <${f.hint}>` : `--${f.flag}`;
    const facts = [
      f.env !== undefined && f.flag !== undefined ? `env ${f.env}` : undefined,
      f.required ? 'required' : undefined,
      showDefault(f) !== undefined ? `default ${showDefault(f)}` : undefined,
      f.repeatable ? 'repeatable' : undefined,
    ].filter((x): x is string => x !== undefined);
    lines.push(`  ${flag}${facts.length > 0 ? `  [${facts.join('; ')}]` : ''}`, `      ${f.help}`);
  }
  lines.push('  --help', '      Print this help and exit.');
  return `${lines.join('\n')}\n`;
}

/** The config as JSON for a startup log line: secrets redacted, URLs without credentials. */
export function describeConfig<S extends ConfigSpec>(config: ConfigOf<S>, spec: S): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const [key, field] of Object.entries(spec)) {
    const value = (config as Record<string, unknown>)[key];
    if (value === undefined) out[key] = null;
    else if (field.secret) out[key] = REDACTED;
    else out[key] = field.show(value);
  }
  return out;
}

export interface ConfigOrExitOptions<C = unknown> extends LoadConfigOptions<C>, HelpOptions {
  /** Where problems go (default process.stderr) and help goes (default process.stdout); for tests. */
  readonly stderr?: { write(text: string): unknown };
  readonly stdout?: { write(text: string): unknown };
  readonly exit?: (code: number) => never;
}

/** For `main.ts`: the config, or help on stdout and exit 0, or every problem on stderr and exit 2. */
export function configOrExit<S extends ConfigSpec>(spec: S, options: ConfigOrExitOptions<ConfigOf<S>>): ConfigOf<S> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const argv = options.argv ?? process.argv.slice(2);
  if (wantsHelp(argv)) {
    (options.stdout ?? process.stdout).write(helpText(spec, options));
    return exit(0);
  }
  try {
    return loadConfig(spec, { ...options, argv });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const n = err.problems.length;
    const text = [
      `${options.name}: invalid configuration (${n} problem${n === 1 ? '' : 's'}):`,
      ...err.problems.map((p) => `  - ${formatProblem(p)}`),
      `Run "${options.name} --help" for every setting.`,
    ].join('\n');
    (options.stderr ?? process.stderr).write(`${text}\n`);
    return exit(2);
  }
}
