import type { InputPlan, OutputPlan } from '@bundlegate/bundle';
import { ERRORS } from '@bundlegate/service-kit';
import type { ModelCatalog, ProxyModel } from './model-catalog';

// The OpenAPI 3.1 document of the HTTP API, generated from the signature: one predict operation per model with its
// exact inputs and outputs. Request bodies are validated against the schemas in this document (request-validator.ts).

export type JsonSchema = { [key: string]: unknown };

export interface OpenApiDocument {
  readonly openapi: string;
  readonly info: JsonSchema;
  readonly paths: { [path: string]: JsonSchema };
  readonly components: { readonly schemas: { [name: string]: JsonSchema } };
  readonly [key: string]: unknown;
}

export const API_PREFIX = '/api/v1';

/** Schema names of a model's request and response bodies in `components.schemas`. */
export function schemaNames(modelId: string): { json: string; form: string; response: string } {
  const safe = modelId.replace(/[^A-Za-z0-9._-]/g, '_');
  return { json: `PredictRequest.${safe}`, form: `PredictForm.${safe}`, response: `PredictResponse.${safe}` };
}

export function inputSchema(plan: InputPlan, expected: string): JsonSchema {
  switch (plan.typeId) {
    case 'Image':
      return { type: 'string', contentEncoding: 'base64', contentMediaType: 'image/*', minLength: 1, description: `${expected}.` };
    case 'Quad':
      return {
        type: 'array',
        description: `${expected}; sent as ${plan.datatype} ${JSON.stringify(plan.shape)}.`,
        minItems: 4,
        maxItems: 4,
        items: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'number' } },
        examples: [
          [
            [0, 0],
            [100, 0],
            [100, 50],
            [0, 50],
          ],
        ],
      };
    case 'Scalar':
      return { type: 'number', description: `${expected}; sent as ${plan.datatype} ${JSON.stringify(plan.shape)}.` };
    case 'Tensor':
      return {
        type: 'object',
        description: `${expected}. data: element values (flat row-major or nested by shape), or a base64 string of the raw little-endian bytes.`,
        required: ['shape', 'data'],
        additionalProperties: false,
        properties: {
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string', description: `Must be ${plan.datatype} when given.` },
          data: { oneOf: [{ type: 'array' }, { type: 'string', contentEncoding: 'base64' }] },
        },
      };
  }
}

function formPartSchema(plan: InputPlan, expected: string): JsonSchema {
  if (plan.typeId === 'Image') {
    return { type: 'string', contentMediaType: 'application/octet-stream', description: `${expected}. A file part, or a text part holding base64.` };
  }
  return { type: 'string', description: `${expected}, as JSON text (e.g. ${plan.typeId === 'Scalar' ? '0.5' : plan.typeId === 'Quad' ? '[[0,0],[1,0],[1,1],[0,1]]' : '{"shape":[1],"data":[0]}'}).` };
}

/** `{"inputs": {...}}`: exactly the model's input keys, each in its JSON form. */
export function jsonRequestSchema(model: ProxyModel): JsonSchema {
  return {
    type: 'object',
    description: `Inputs of model ${model.id} (${model.bundleName}) by key.`,
    required: ['inputs'],
    additionalProperties: false,
    properties: {
      inputs: {
        type: 'object',
        required: model.inputs.map((i) => i.key),
        additionalProperties: false,
        properties: Object.fromEntries(model.inputs.map((i) => [i.key, inputSchema(i.plan, i.expected)])),
      },
    },
  };
}

/** multipart/form-data: one part per input, named by its key. */
export function formRequestSchema(model: ProxyModel): JsonSchema {
  return {
    type: 'object',
    required: model.inputs.map((i) => i.key),
    additionalProperties: false,
    properties: Object.fromEntries(model.inputs.map((i) => [i.key, formPartSchema(i.plan, i.expected)])),
  };
}

const BASE64_FLOATS = { type: 'string', contentEncoding: 'base64', description: 'Little-endian float32 values, row-major.' };

function outputSchema(plan: OutputPlan): JsonSchema {
  const common = {
    typeId: { const: plan.typeId },
    ...(plan.name === null ? {} : { name: { const: plan.name } }),
  };
  const required = ['typeId', ...(plan.name === null ? [] : ['name'])];
  switch (plan.map.kind) {
    case 'labelAndScore':
    case 'argmax':
    case 'indexedLabel':
      return {
        type: 'object',
        required: [...required, 'label', 'score'],
        properties: { ...common, label: { type: 'string' }, score: { type: 'number' } },
      };
    case 'grid': {
      const { rows, cols, channels } = plan.map;
      const nested = {
        type: 'array',
        minItems: rows,
        maxItems: rows,
        items: { type: 'array', minItems: cols, maxItems: cols, items: { type: 'array', minItems: channels, maxItems: channels, items: { type: 'number' } } },
      };
      return {
        type: 'object',
        required: [...required, 'rows', 'cols', 'channels', 'data'],
        properties: {
          ...common,
          rows: { const: rows },
          cols: { const: cols },
          channels: { const: channels },
          data: { oneOf: [nested, BASE64_FLOATS], description: 'rows × cols × channels nested arrays, or base64 float32 with ?encoding=base64.' },
          encoding: { const: 'base64' },
        },
      };
    }
    case 'tensor':
      return {
        type: 'object',
        required: [...required, 'shape', 'datatype', 'data'],
        properties: {
          ...common,
          shape: { type: 'array', items: { type: 'integer', minimum: 0 } },
          datatype: { type: 'string' },
          data: {
            oneOf: [{ type: 'array' }, { type: 'string', contentEncoding: 'base64' }],
            description: 'Element values (BYTES as UTF-8 text), or base64 of the raw little-endian bytes when `encoding` is "base64".',
          },
          encoding: { const: 'base64' },
        },
      };
  }
}

export function responseSchema(model: ProxyModel): JsonSchema {
  return {
    type: 'object',
    required: ['modelId', 'outputs', 'timings'],
    properties: {
      modelId: { const: model.id },
      outputs: { type: 'array', prefixItems: model.outputs.map(outputSchema), minItems: model.outputs.length, maxItems: model.outputs.length },
      timings: { $ref: '#/components/schemas/Timings' },
    },
  };
}

const ERROR_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { enum: Object.keys(ERRORS), description: 'Stable error code (docs/errors.md).' },
        message: { type: 'string' },
        field: { type: 'string', description: 'The input or parameter at fault.' },
        expected: { description: 'What was expected instead.' },
      },
    },
  },
};

const TIMINGS_SCHEMA: JsonSchema = {
  type: 'object',
  description: 'Milliseconds spent in the proxy and the backend.',
  required: ['preprocessMs', 'backendMs', 'postprocessMs', 'totalMs'],
  properties: {
    preprocessMs: { type: 'number', description: 'Inputs → tensors (image decode, resize, normalise).' },
    backendMs: { type: 'number', description: 'Backend call: gateway hop and inference.' },
    postprocessMs: { type: 'number', description: 'Tensors → outputs.' },
    totalMs: { type: 'number' },
  },
};

const CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['bundles'],
  properties: {
    backend: { type: 'object', properties: { kind: { enum: ['gateway', 'in-process'] } } },
    bundles: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'backendInferenceEngine', 'models'],
        properties: {
          name: { type: 'string' },
          backendInferenceEngine: { type: 'string' },
          models: {
            type: 'array',
            items: {
              type: 'object',
              required: ['id', 'backendInferenceEngine', 'protocol', 'ready', 'inputs', 'outputs'],
              properties: {
                id: { type: 'string' },
                backendInferenceEngine: { type: 'string' },
                protocol: { enum: ['kserve-v2', 'tfs-predict'] },
                ready: { type: 'boolean' },
                inputs: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['typeId', 'key', 'tensor', 'datatype', 'shape', 'params'],
                    properties: {
                      typeId: { type: 'string' },
                      key: { type: 'string' },
                      name: { type: 'string' },
                      tensor: { type: 'string' },
                      datatype: { type: 'string' },
                      shape: { type: ['array', 'null'], items: { type: 'integer' } },
                      params: { type: 'object' },
                    },
                  },
                },
                outputs: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['typeId', 'reads', 'params'],
                    properties: { typeId: { type: 'string' }, name: { type: 'string' }, reads: { type: 'array', items: { type: 'string' } }, params: { type: 'object' } },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
};

function errorResponses(statuses: readonly number[]): JsonSchema {
  const descriptions: Record<number, string> = {
    400: 'Invalid input: the error names the field and what was expected.',
    404: 'Unknown model.',
    413: 'Body too large.',
    415: 'Unsupported content type.',
    502: 'The backend failed or answered something the signature does not describe.',
    503: 'The backend or model is unavailable.',
    504: 'The backend did not answer in time.',
  };
  return Object.fromEntries(
    statuses.map((s) => [String(s), { description: descriptions[s] ?? 'Error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
  );
}

const ENCODING_PARAM = {
  name: 'encoding',
  in: 'query',
  required: false,
  description: 'json (default): grids as nested arrays. base64: grid and tensor data as base64 little-endian bytes (far smaller and faster).',
  schema: { enum: ['json', 'base64'], default: 'json' },
};

function predictOperation(model: ProxyModel, operationId: string, extraParameters: JsonSchema[]): JsonSchema {
  const names = schemaNames(model.id);
  return {
    operationId,
    tags: [model.bundleName],
    summary: `${model.bundleName}: ${model.outputs.map((o) => o.typeId).join(', ')} from ${model.inputs.map((i) => i.plan.typeId).join(', ')}`,
    description: `Runs model ${model.id} (${model.engine}, ${model.protocol}). Inputs: ${model.describeInputs()}.`,
    parameters: [...extraParameters, ENCODING_PARAM],
    requestBody: {
      required: true,
      content: {
        'application/json': { schema: { $ref: `#/components/schemas/${names.json}` } },
        'multipart/form-data': { schema: { $ref: `#/components/schemas/${names.form}` } },
      },
    },
    responses: {
      '200': { description: 'Outputs in signature order.', content: { 'application/json': { schema: { $ref: `#/components/schemas/${names.response}` } } } },
      ...errorResponses([400, 404, 413, 415, 502, 503, 504]),
    },
  };
}

/** The whole document for the catalog's models. */
export function buildOpenApi(catalog: ModelCatalog, version = '0.1.0'): OpenApiDocument {
  const schemas: { [name: string]: JsonSchema } = { Error: ERROR_SCHEMA, Timings: TIMINGS_SCHEMA, Config: CONFIG_SCHEMA };
  const paths: { [path: string]: JsonSchema } = {
    [`${API_PREFIX}/config`]: {
      get: {
        operationId: 'getConfig',
        tags: ['bundle'],
        summary: 'The bundles and models served, with typed inputs and outputs and live readiness',
        responses: { '200': { description: 'The loaded signature.', content: { 'application/json': { schema: { $ref: '#/components/schemas/Config' } } } } },
      },
    },
  };
  for (const model of catalog.models) {
    const names = schemaNames(model.id);
    schemas[names.json] = jsonRequestSchema(model);
    schemas[names.form] = formRequestSchema(model);
    schemas[names.response] = responseSchema(model);
    paths[`${API_PREFIX}/models/${encodeURIComponent(model.id)}/predict`] = { post: predictOperation(model, `predict.${model.id}`, []) };
  }
  const ids = catalog.models.map((m) => m.id);
  paths[`${API_PREFIX}/predict`] = {
    post: {
      operationId: 'predictByHeader',
      tags: ['bundle'],
      summary: 'Run the model named by the model-id header (same body as /models/{id}/predict)',
      parameters: [{ name: 'model-id', in: 'header', required: true, schema: { enum: ids } }, ENCODING_PARAM],
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: { oneOf: ids.map((id) => ({ $ref: `#/components/schemas/${schemaNames(id).json}` })) } },
          'multipart/form-data': { schema: { oneOf: ids.map((id) => ({ $ref: `#/components/schemas/${schemaNames(id).form}` })) } },
        },
      },
      responses: {
        '200': { description: 'Outputs in signature order.', content: { 'application/json': { schema: { oneOf: ids.map((id) => ({ $ref: `#/components/schemas/${schemaNames(id).response}` })) } } } },
        ...errorResponses([400, 404, 413, 415, 502, 503, 504]),
      },
    },
  };
  for (const [path, summary] of [
    ['/healthz', 'Liveness'],
    ['/readyz', 'Readiness: the gateway and every model report ready'],
    ['/metrics', 'Prometheus metrics'],
  ] as const) {
    paths[path] = { get: { operationId: path.slice(1), tags: ['operations'], summary, responses: { '200': { description: 'OK' }, ...(path === '/readyz' ? { '503': { description: 'Not ready' } } : {}) } } };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bundlegate model proxy',
      version,
      description: `Typed inference over the bundle of ${ids.length} model${ids.length === 1 ? '' : 's'} loaded from ${basename(catalog.signature.file)}.`,
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [...catalog.bundles.map((b) => ({ name: b.name, description: `Bundle ${b.name} (${b.backendInferenceEngine})` })), { name: 'bundle' }, { name: 'operations' }],
    paths,
    components: { schemas },
  };
}

function basename(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}
