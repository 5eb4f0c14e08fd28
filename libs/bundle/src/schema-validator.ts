import Ajv2020, { type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import bundleSchema from '../schemas/bundle.schema.json';
import signatureSchema from '../schemas/bundle-signature.schema.json';
import type { BundleIssue } from './bundle-file-error';
import { closestMatch } from './did-you-mean';
import { formatPath, issueAt, type FieldPath, type YamlFile } from './yaml-source';

/** The published JSON Schemas, exactly as the validator uses them. */
export const BUNDLE_SCHEMA: Readonly<AnySchemaObject> = bundleSchema;
export const BUNDLE_SIGNATURE_SCHEMA: Readonly<AnySchemaObject> = signatureSchema;

export type SchemaName = 'bundle' | 'bundle-signature';

let validators: Record<SchemaName, ValidateFunction> | undefined;

function validatorFor(name: SchemaName): ValidateFunction {
  // Compiled on first use: services that never read a bundle file skip the cost.
  if (validators === undefined) {
    const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    validators = { bundle: ajv.compile(bundleSchema), 'bundle-signature': ajv.compile(signatureSchema) };
  }
  return validators[name];
}

/** Every schema violation of `yf.value`, as issues positioned at the offending YAML node. */
export function schemaIssues(yf: YamlFile, name: SchemaName): BundleIssue[] {
  const validate = validatorFor(name);
  if (validate(yf.value)) return [];
  const issues: BundleIssue[] = [];
  const seen = new Set<string>();
  const described = (validate.errors ?? []).flatMap((error) => describeError(error, yf.value) ?? []);
  // A misspelled field also leaves its correct name missing: report the misspelling only.
  const misspelt = new Set(described.flatMap((d) => (d.correction === undefined ? [] : [formatPath(d.correction)])));
  for (const d of described) {
    if (d.missing && misspelt.has(formatPath(d.path))) continue;
    const issue = issueAt(yf, d.path, d.message, d.atKey);
    const id = `${issue.path}\u0000${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}

interface DescribedError {
  path: FieldPath;
  message: string;
  atKey: boolean;
  /** A missing required field. */
  missing?: boolean;
  /** For an unknown field that looks like a typo: the path of the field it was probably meant to be. */
  correction?: FieldPath;
}

function describeError(error: ErrorObject, root: unknown): DescribedError | undefined {
  const path = pointerToPath(error.instancePath, root);
  const params = error.params as Record<string, unknown>;
  const schema = error.parentSchema ?? {};
  const at = (message: string, atKey = false, extra?: string): DescribedError => ({
    path: extra === undefined ? path : [...path, extra],
    message,
    atKey,
  });
  if (error.propertyName !== undefined) {
    if (error.keyword === 'propertyNames') return undefined;
    const why = typeof schema['description'] === 'string' ? schema['description'] : (error.message ?? 'not allowed');
    return at(`invalid name ${show(error.propertyName)}: ${why}`, true, error.propertyName);
  }
  switch (error.keyword) {
    case 'propertyNames':
      return undefined; // each offending name is reported by its own error
    case 'if':
      return undefined; // the failing "then" reports the actual problem
    case 'additionalProperties': {
      const field = String(params['additionalProperty']);
      const allowed = Object.keys((schema['properties'] as object | undefined) ?? {});
      if (allowed.length === 0) {
        return at(`unknown field ${show(field)}: ${String(schema['description'] ?? 'no fields are allowed here')}`, true, field);
      }
      const match = closestMatch(field, allowed);
      return {
        ...at(`unknown field ${show(field)}${match === undefined ? '' : ` (did you mean ${show(match)}?)`}; allowed: ${allowed.join(', ')}`, true, field),
        ...(match === undefined ? {} : { correction: [...path, match] }),
      };
    }
    case 'required': {
      const field = String(params['missingProperty']);
      const why = error.schemaPath.endsWith('/then/required') && schema['description'] ? ` (${String(schema['description'])})` : '';
      return { ...at(`missing required field ${show(field)}${why}`, false, field), missing: true };
    }
    case 'dependentRequired':
      return at(`only allowed together with ${show(String(params['missingProperty']))}`, true, String(params['property']));
    case 'enum': {
      const allowed = (params['allowedValues'] as unknown[]).map(String);
      const got = error.data;
      const hint = typeof got === 'string' ? suggestion(got, allowed) : '';
      return at(`${show(got)} is not one of: ${allowed.join(', ')}${hint}`);
    }
    case 'const':
      return at(`must be ${show(params['allowedValue'])}`);
    case 'type':
      return at(`must be ${typeWords(params['type'])}, ${describeValue(error.data)}`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return at(`must be ${String(params['comparison'])} ${String(params['limit'])} (got ${show(error.data)})`);
    case 'minItems':
    case 'maxItems': {
      const count = Array.isArray(error.data) ? error.data.length : 0;
      if (schema['minItems'] !== undefined && schema['minItems'] === schema['maxItems']) {
        return at(`must have exactly ${String(schema['minItems'])} items (got ${count})`);
      }
      if (error.keyword === 'minItems' && params['limit'] === 1) return at('must not be an empty list');
      const bound = error.keyword === 'minItems' ? 'at least' : 'at most';
      return at(`must have ${bound} ${String(params['limit'])} items (got ${count})`);
    }
    case 'minProperties':
      return at('must not be empty');
    case 'maxProperties': {
      const choices = Object.keys((schema['properties'] as object | undefined) ?? {});
      return at(params['limit'] === 1 && choices.length > 0 ? `give only one of: ${choices.join(', ')}` : `must have at most ${String(params['limit'])} fields`);
    }
    case 'uniqueItems':
      return at(`must not repeat an item (items ${String(params['j'])} and ${String(params['i'])} are the same)`);
    case 'minLength':
      return at(params['limit'] === 1 ? 'must not be empty' : `must be at least ${String(params['limit'])} characters long`);
    case 'pattern':
      return at(`${show(error.data)} is not valid: ${String(schema['description'] ?? `must match ${String(params['pattern'])}`)}`);
    default:
      return at(error.message ?? `fails ${error.keyword}`);
  }
}

/** JSON pointer → field path, with list indexes as numbers (decided by walking the data). */
function pointerToPath(pointer: string, root: unknown): (string | number)[] {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      path.push(Number(segment));
      node = node[Number(segment)];
    } else {
      path.push(segment);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return path;
}

function suggestion(word: string, candidates: readonly string[]): string {
  const match = closestMatch(word, candidates);
  return match === undefined ? '' : ` (did you mean ${show(match)}?)`;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
  null: 'empty',
};

function typeWords(type: unknown): string {
  const types = Array.isArray(type) ? type.map(String) : String(type).split(',');
  return types.map((t) => TYPE_WORDS[t] ?? t).join(' or ');
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'but it is empty';
  if (Array.isArray(value)) return 'not a list';
  if (typeof value === 'object') return 'not a mapping';
  return `not ${show(value)}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  return JSON.stringify(value) ?? String(value);
}
