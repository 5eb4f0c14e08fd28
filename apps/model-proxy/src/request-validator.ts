import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import { bgError, type BgError } from '@bundlegate/service-kit';
import { describeJson } from './friendly-input';
import type { ModelCatalog, ProxyModel } from './model-catalog';
import { schemaNames, type OpenApiDocument } from './openapi';

interface ModelValidators {
  readonly json: ValidateFunction;
  readonly form: ValidateFunction;
}

/**
 * Validates predict bodies against the request schemas of the OpenAPI document, and turns the first violation into
 * the registry error a client can act on (missing / unexpected input, wrong type), naming the field.
 */
export class RequestValidator {
  private readonly byModel = new Map<string, ModelValidators>();

  constructor(document: OpenApiDocument, catalog: ModelCatalog) {
    const ajv = new Ajv2020({ strict: true, allErrors: false });
    for (const model of catalog.models) {
      const names = schemaNames(model.id);
      const schema = (name: string): object => {
        const s = document.components.schemas[name];
        if (s === undefined) throw new Error(`the OpenAPI document has no schema ${name}`);
        return s;
      };
      this.byModel.set(model.id, { json: ajv.compile(schema(names.json)), form: ajv.compile(schema(names.form)) });
    }
  }

  /** A JSON predict body: `{"inputs": {...}}`. */
  checkJson(model: ProxyModel, body: unknown): void {
    const validate = this.validators(model).json;
    if (!validate(body)) throw toRequestError(model, validate.errors?.[0], body, 'json');
  }

  /** The parts of a multipart body, by name; file parts count as strings, as the document models them. */
  checkForm(model: ProxyModel, parts: Readonly<Record<string, string>>): void {
    const validate = this.validators(model).form;
    if (!validate(parts)) throw toRequestError(model, validate.errors?.[0], parts, 'form');
  }

  private validators(model: ProxyModel): ModelValidators {
    const v = this.byModel.get(model.id);
    if (v === undefined) throw new Error(`no validators for model ${model.id}`);
    return v;
  }
}

/** JSON pointer "/inputs/a~1b/0" → ["inputs", "a/b", "0"]. */
function pointerParts(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function valueAt(root: unknown, parts: readonly string[]): unknown {
  let v = root;
  for (const p of parts) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

function toRequestError(model: ProxyModel, error: ErrorObject | undefined, body: unknown, form: 'json' | 'form'): BgError {
  if (error === undefined) return bgError('BG_INVALID_ARGUMENT', { field: 'body', expected: 'a predict request' });
  const parts = pointerParts(error.instancePath);
  // the level that holds inputs: "/inputs" in JSON, the top level in a form
  const inputsDepth = form === 'json' ? 1 : 0;
  if (form === 'json' && parts.length === 0) {
    if (error.keyword === 'required') return bgError('BG_INVALID_ARGUMENT', { field: 'inputs', expected: `an object of inputs by key: ${model.describeInputs()}` });
    if (error.keyword === 'additionalProperties') {
      const extra = String((error.params as { additionalProperty?: unknown }).additionalProperty);
      return bgError('BG_INVALID_ARGUMENT', { field: extra, expected: 'only "inputs" at the top level of the body' });
    }
    return bgError('BG_INVALID_ARGUMENT', { field: 'body', expected: '{"inputs": {...}}', got: describeJson(body) });
  }
  if (parts.length === inputsDepth) {
    if (error.keyword === 'required') {
      const key = String((error.params as { missingProperty?: unknown }).missingProperty);
      return bgError('BG_MISSING_INPUT', { field: key, expected: model.input(key)?.expected });
    }
    if (error.keyword === 'additionalProperties') {
      const key = String((error.params as { additionalProperty?: unknown }).additionalProperty);
      return bgError('BG_UNEXPECTED_INPUT', { field: key, expected: `only ${model.describeInputs()}` });
    }
    return bgError('BG_INVALID_ARGUMENT', { field: 'inputs', expected: `an object of inputs by key: ${model.describeInputs()}`, got: describeJson(valueAt(body, parts)) });
  }
  const key = parts[inputsDepth] as string;
  const input = model.input(key);
  const where = parts.slice(inputsDepth + 1);
  const got = describeJson(valueAt(body, parts));
  return bgError('BG_INVALID_INPUT_TYPE', {
    field: key,
    expected: input?.expected ?? 'a value of the input type',
    got: where.length === 0 ? got : `${got} at ${where.map((p) => `[${/^\d+$/.test(p) ? p : JSON.stringify(p)}]`).join('')} (${error.message ?? error.keyword})`,
  });
}
