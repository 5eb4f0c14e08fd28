import { createServer } from 'node:net';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decryptModelFile, generateModelKey, MODEL_ENC_MAGIC, readModelKeyFile } from '@bundlegate/model-crypto';
import { runCli, USAGE } from './cli';
import { freeStackPorts } from './ports';
import { demoTree, REPO_ROOT } from './testing/fixtures';

function capture(cwd = REPO_ROOT, env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
      env,
      cwd,
      signal: new AbortController().signal,
      scriptDir: __dirname,
    },
  };
}

describe('bundlegate command line', () => {
  let root: string;
  let bundle: string;
  beforeAll(async () => {
    ({ root, bundle } = await demoTree());
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('prints usage and exits 2 without a command, 0 for help', async () => {
    const none = capture();
    expect(await runCli([], none.io)).toBe(2);
    expect(none.out.join('')).toBe(USAGE);
    const help = capture();
    expect(await runCli(['--help'], help.io)).toBe(0);
  });

  it('rejects an unknown command with exit 2', async () => {
    const c = capture();
    expect(await runCli(['deploy'], c.io)).toBe(2);
    expect(c.err.join('')).toContain('bundlegate: unknown command "deploy"');
  });

  it('reports every bad option at once and exits 2', async () => {
    const c = capture(root);
    expect(await runCli(['generate', 'compose', '--bundel', 'x.yaml'], c.io)).toBe(2);
    const text = c.err.join('');
    expect(text).toContain('--bundel: unknown flag; did you mean --bundle?');
    expect(text).toContain('--bundle / BUNDLEGATE_BUNDLE: required');
    expect(text).toContain('--out / BUNDLEGATE_OUT: required');
  });

  it('takes options from the environment too', async () => {
    const c = capture(root, { BUNDLEGATE_BUNDLE: bundle, BUNDLEGATE_OUT: join(root, 'from-env') });
    expect(await runCli(['generate', 'compose'], c.io)).toBe(0);
    expect(await readFile(join(root, 'from-env/base/docker-compose.yaml'), 'utf8')).toContain('model_proxy:');
  });

  it('generates compose and says what it wrote and what it kept', async () => {
    const first = capture(root);
    expect(await runCli(['generate', 'compose', '--bundle', bundle, '--out', 'out'], first.io)).toBe(0);
    expect(first.out.join('')).toContain('wrote out/example/: docker-compose.yaml, .env, conf/bundle/.env, creds/bundle/.env, README.md\n');
    const second = capture(root);
    expect(await runCli(['generate', 'compose', '--bundle', bundle, '--out', 'out'], second.io)).toBe(0);
    expect(second.out.join('')).toContain('kept out/example/: docker-compose.yaml, .env, conf/bundle/.env, creds/bundle/.env, README.md (never overwritten)\n');
  });

  it('refuses a --gpu model the bundle does not have', async () => {
    const c = capture(root);
    expect(await runCli(['generate', 'k8s', '--bundle', bundle, '--out', 'k8s', '--gpu', 'nope'], c.io)).toBe(2);
    expect(c.err.join('')).toContain(`--gpu: no model nope in ${bundle}`);
  });

  it('reports an invalid bundle with file, line and column, exit 2', async () => {
    const bad = join(root, 'bad.yaml');
    await writeFile(bad, 'name: Bad Name\nsignature: bundle-signature.yaml\nmodels: []\n');
    const c = capture(root);
    expect(await runCli(['generate', 'k8s', '--bundle', bad, '--out', 'k8s'], c.io)).toBe(2);
    expect(c.err.join('')).toMatch(new RegExp(`${bad}:1:7: name: `));
  });

  it('generates Kubernetes manifests', async () => {
    const c = capture(root);
    expect(await runCli(['generate', 'k8s', '--bundle', bundle, '--out', 'k8s'], c.io)).toBe(0);
    expect(c.out.join('')).toContain('deploy: kubectl apply -k k8s\n');
    expect(c.err.join('')).toContain('warning: file:// sources are mounted with hostPath');
  });

  it('encrypt-model writes a file model-download decrypts with the same key, and refuses a bad key', async () => {
    const model = join(root, 'model.onnx');
    const plain = Buffer.from('a model, byte for byte \u0000\u00ff');
    await writeFile(model, plain);
    await writeFile(join(root, 'model.key'), `${generateModelKey()}\n`);
    const ok = capture(root);
    expect(await runCli(['encrypt-model', '--key', 'model.key', 'model.onnx', 'model.onnx.enc'], ok.io)).toBe(0);
    const enc = await readFile(join(root, 'model.onnx.enc'));
    expect(enc.subarray(0, MODEL_ENC_MAGIC.length).equals(MODEL_ENC_MAGIC)).toBe(true);
    expect(enc.includes(plain)).toBe(false);
    await decryptModelFile(await readModelKeyFile(join(root, 'model.key')), join(root, 'model.onnx.enc'), join(root, 'roundtrip.onnx'));
    expect((await readFile(join(root, 'roundtrip.onnx'))).equals(plain)).toBe(true);

    await writeFile(join(root, 'short.key'), Buffer.alloc(16).toString('base64'));
    const bad = capture(root);
    expect(await runCli(['encrypt-model', '--key', 'short.key', 'model.onnx', 'x.enc'], bad.io)).toBe(1);
    expect(bad.err.join('')).toMatch(/encrypt-model: .*32/);
    const missing = capture(root);
    expect(await runCli(['encrypt-model', 'model.onnx'], missing.io)).toBe(2);
    expect(missing.err.join('')).toMatch(/--key/);
  });

  it('prints a profile', async () => {
    const c = capture();
    expect(await runCli(['profile', 'print', 'deploy/profiles/single-container.yaml'], c.io)).toBe(0);
    expect(c.out.join('')).toMatch(/^docker run -d --rm --name model-proxy /);
  });

  it('refuses to start up when a port it needs is taken, naming it', async () => {
    const ports = await freeStackPorts();
    const base = ports.proxyHttp;
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(base + 3, r));
    try {
      const c = capture();
      // fails before anything starts, whether or not the apps are built
      const code = await runCli(['up', '--base_port', String(base)], c.io);
      expect(code).toBe(2);
      expect(c.err.join('')).toMatch(new RegExp(`port ${base + 3} \\(gateway REST\\).* already in use: stop what uses it, or pass --free_ports or --base_port N|not built: `));
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });
});
