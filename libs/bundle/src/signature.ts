import { readFile } from 'node:fs/promises';
import { BundleFileError, type BundleIssue } from './bundle-file-error';
import { SIGNATURE_ENGINE_PROTOCOL } from './engines';
import { asArray, asRecord, asString } from './guards';
import { schemaIssues } from './schema-validator';
import type { BundleSignature, InputEntry, SignatureBundle, SignatureDocument, SignatureModel } from './signature-types';
import { issueAt, locate, locationOf, mapKeys, mergeIssues, readYaml, type FieldPath, type TextFields, type YamlFile } from './yaml-source';

const SIGNATURE_TEXT_FIELDS: TextFields = {
  keys: new Set([
    'id',
    'name',
    'imageInputKey',
    'quadInputKey',
    'scalarInputKey',
    'tensorInputKey',
    'classNameOutput',
    'scoreOutput',
    'keyName',
  ]),
  listKeys: new Set(['labels']),
};

/** The backend tensor an input feeds, i.e. its `*InputKey` param. */
export function inputTensorName(input: InputEntry): string {
  switch (input.typeId) {
    case 'Image':
      return input.params.imageInputKey;
    case 'Quad':
      return input.params.quadInputKey;
    case 'Scalar':
      return input.params.scalarInputKey;
    case 'Tensor':
      return input.params.tensorInputKey;
  }
}

/** The request key of an input: its `name` when given, else its backend tensor name. */
export function inputKey(input: InputEntry): string {
  return input.name ?? inputTensorName(input);
}

/** Parses and validates bundle-signature.yaml text; throws BundleFileError listing every problem. */
export function parseSignature(text: string, fileName: string): BundleSignature {
  const yf = readYaml(text, fileName, SIGNATURE_TEXT_FIELDS);
  if (yf.issues.length > 0) throw new BundleFileError(mergeIssues(yf.issues, []));
  const issues = mergeIssues(schemaIssues(yf, 'bundle-signature'), signatureRuleIssues(yf));
  if (issues.length > 0) throw new BundleFileError(issues);
  return buildSignature(yf);
}

/** Reads and parses a bundle-signature.yaml file. */
export async function loadSignatureFile(path: string): Promise<BundleSignature> {
  return parseSignature(await readText(path), path);
}

/** File text, or a BundleFileError naming the file when it cannot be read. */
export async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read file: ${(error as Error).message}`;
    throw new BundleFileError([{ file: path, line: 1, column: 1, path: '', message: reason }]);
  }
}

function buildSignature(yf: YamlFile): BundleSignature {
  const doc = yf.value as SignatureDocument;
  const bundles = mapKeys(yf, ['models']).map((name): SignatureBundle => {
    const bundle = doc.models[name];
    if (bundle === undefined) throw new Error(`bundle ${name} vanished between parse and build`);
    const models = bundle.models.map((model, i): SignatureModel => {
      const engine = model.backendInferenceEngine ?? bundle.backendInferenceEngine;
      return {
        id: model.id,
        bundleName: name,
        backendInferenceEngine: engine,
        protocol: SIGNATURE_ENGINE_PROTOCOL[engine],
        inputs: model.modelSgn.inputs,
        outputs: model.modelSgn.outputs,
        location: locationOf(yf, ['models', name, 'models', i]),
      };
    });
    return { name, backendInferenceEngine: bundle.backendInferenceEngine, models };
  });
  return { file: yf.file, bundles };
}

/** Rules a JSON Schema cannot express; written against unvalidated data so they report alongside schema issues. */
function signatureRuleIssues(yf: YamlFile): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const firstSeen = new Map<string, FieldPath>();
  const bundles = asRecord(asRecord(yf.value)?.['models']) ?? {};
  for (const [bundleName, bundle] of Object.entries(bundles)) {
    asArray(asRecord(bundle)?.['models']).forEach((model, m) => {
      const modelPath = ['models', bundleName, 'models', m];
      const id = asString(asRecord(model)?.['id']);
      if (id !== undefined) {
        const first = firstSeen.get(id);
        if (first === undefined) firstSeen.set(id, modelPath);
        else {
          const { line } = locate(yf, first);
          issues.push(issueAt(yf, [...modelPath, 'id'], `duplicate model id '${id}' (first at line ${line}, bundle '${String(first[1])}')`));
        }
      }
      const sgn = asRecord(asRecord(model)?.['modelSgn']);
      issues.push(...inputRuleIssues(yf, [...modelPath, 'modelSgn', 'inputs'], asArray(sgn?.['inputs'])));
      issues.push(...outputRuleIssues(yf, [...modelPath, 'modelSgn', 'outputs'], asArray(sgn?.['outputs'])));
    });
  }
  return issues;
}

const INPUT_KEY_PARAM: Record<string, string> = {
  Image: 'imageInputKey',
  Quad: 'quadInputKey',
  Scalar: 'scalarInputKey',
  Tensor: 'tensorInputKey',
};

/** Elements a Quad / Scalar tensor holds, whatever its shape. */
const FIXED_ELEMENTS: Record<string, number> = { Quad: 8, Scalar: 1 };

function inputRuleIssues(yf: YamlFile, base: FieldPath, inputs: readonly unknown[]): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const keys = new Map<string, number>();
  const tensors = new Map<string, number>();
  inputs.forEach((raw, i) => {
    const input = asRecord(raw);
    const typeId = asString(input?.['typeId']) ?? '';
    const params = asRecord(input?.['params']);
    const tensor = asString(params?.[INPUT_KEY_PARAM[typeId] ?? '']);
    const key = asString(input?.['name']) ?? tensor;
    const path = [...base, i];
    if (key !== undefined) {
      const first = keys.get(key);
      if (first === undefined) keys.set(key, i);
      else issues.push(issueAt(yf, [...path, input?.['name'] === undefined ? 'params' : 'name'], `duplicate input key '${key}' (also inputs[${first}]); give each input a distinct name`));
    }
    if (tensor !== undefined) {
      const first = tensors.get(tensor);
      if (first === undefined) tensors.set(tensor, i);
      else issues.push(issueAt(yf, [...path, 'params', INPUT_KEY_PARAM[typeId] ?? ''], `backend tensor '${tensor}' is already fed by inputs[${first}]`));
    }
    if (params === undefined) return;
    const elements = FIXED_ELEMENTS[typeId];
    const shape = asArray(params['shape']);
    if (elements !== undefined && shape.length > 0 && shape.every((d) => typeof d === 'number')) {
      const product = (shape as number[]).reduce((a, b) => a * b, 1);
      if (product !== elements) {
        issues.push(issueAt(yf, [...path, 'params', 'shape'], `a ${typeId} has ${elements} element${elements === 1 ? '' : 's'}, but shape [${shape.join(', ')}] holds ${product}`));
      }
    }
    if (typeId === 'Image') issues.push(...imageRuleIssues(yf, [...path, 'params'], params));
  });
  return issues;
}

function imageRuleIssues(yf: YamlFile, path: FieldPath, params: Record<string, unknown>): BundleIssue[] {
  const issues: BundleIssue[] = [];
  if (params['dtype'] === 'UINT8') {
    for (const field of ['mean', 'std', 'scale'] as const) {
      if (params[field] !== undefined) {
        issues.push(issueAt(yf, [...path, field], `needs dtype FP32 or FP16: UINT8 sends the raw 0-255 pixel values`, true));
      }
    }
  }
  const std = params['std'];
  if (std === 0 || (Array.isArray(std) && std.includes(0))) issues.push(issueAt(yf, [...path, 'std'], 'must not be 0 (it divides)'));
  return issues;
}

function outputRuleIssues(yf: YamlFile, base: FieldPath, outputs: readonly unknown[]): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const names = new Map<string, number>();
  outputs.forEach((raw, i) => {
    const name = asString(asRecord(raw)?.['name']);
    if (name === undefined) return;
    const first = names.get(name);
    if (first === undefined) names.set(name, i);
    else issues.push(issueAt(yf, [...base, i, 'name'], `duplicate output name '${name}' (also outputs[${first}])`));
  });
  return issues;
}
