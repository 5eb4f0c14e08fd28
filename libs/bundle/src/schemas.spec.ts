import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_DTYPES, NUMERIC_DTYPES, TENSOR_DTYPES } from './dtypes';
import { SERVING_ENGINES, SIGNATURE_ENGINES } from './engines';
import { BUNDLE_SCHEMA, BUNDLE_SIGNATURE_SCHEMA } from './schema-validator';
import { INPUT_TYPE_IDS, OUTPUT_TYPE_IDS } from './signature-types';

const ROOT = join(__dirname, '..', '..', '..');
const NAMES = ['bundle.schema.json', 'bundle-signature.schema.json'];

type Defs = Record<string, { enum?: string[]; properties?: Record<string, { enum?: string[] }> }>;
const signatureDefs = BUNDLE_SIGNATURE_SCHEMA['$defs'] as Defs;
const bundleDefs = BUNDLE_SCHEMA['$defs'] as Defs;

describe('published JSON Schemas', () => {
  it.each(NAMES)('docs/schemas/%s is an identical copy (run `npm run schemas:publish -w @bundlegate/bundle`)', (name) => {
    expect(readFileSync(join(ROOT, 'docs', 'schemas', name), 'utf8')).toBe(readFileSync(join(ROOT, 'libs', 'bundle', 'schemas', name), 'utf8'));
  });

  it('declare draft 2020-12 and an $id', () => {
    for (const schema of [BUNDLE_SCHEMA, BUNDLE_SIGNATURE_SCHEMA]) {
      expect(schema['$schema']).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema['$id']).toMatch(/^urn:bundlegate:schema:/);
    }
  });

  it('list the same engines, type ids and datatypes as the TypeScript types', () => {
    expect(signatureDefs['engine']?.enum).toEqual([...SIGNATURE_ENGINES]);
    expect(bundleDefs['engine']?.enum).toEqual([...SERVING_ENGINES]);
    expect(signatureDefs['input']?.properties?.['typeId']?.enum).toEqual([...INPUT_TYPE_IDS]);
    expect(signatureDefs['output']?.properties?.['typeId']?.enum).toEqual([...OUTPUT_TYPE_IDS]);
    expect(signatureDefs['tensorDtype']?.enum).toEqual([...TENSOR_DTYPES]);
    expect(signatureDefs['numericDtype']?.enum).toEqual([...NUMERIC_DTYPES]);
    expect(signatureDefs['imageParams']?.properties?.['dtype']?.enum).toEqual([...IMAGE_DTYPES]);
  });

  it('give every serving engine an options slot', () => {
    const slots = (BUNDLE_SCHEMA['$defs'] as Record<string, { allOf?: { if: { properties: { engine: { const: string } } } }[] }>)['model']?.allOf;
    expect(slots?.map((s) => s.if.properties.engine.const)).toEqual([...SERVING_ENGINES]);
  });
});
