import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './testing/fixtures';
import { appEnv, appNodeFlags } from './up';

// The images cannot be built on this machine; these checks keep each Dockerfile in step with its app.

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const m = /^(\w+)\s+(.*)$/.exec(line.trim());
      if (m === null) throw new Error(`not an instruction: ${line}`);
      return { keyword: (m[1] as string).toUpperCase(), args: m[2] as string };
    });
}

const apps = readdirSync(join(REPO_ROOT, 'apps')).filter((name) => {
  try {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'apps', name, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    return pkg.scripts?.['build']?.includes('build-app.mjs') === true;
  } catch {
    return false;
  }
});
const SERVICES: Record<string, number> = { gateway: 8081, 'model-proxy': 8000, 'onnx-serving': 8001 };

describe('deploy/docker', () => {
  it('has a Dockerfile for every app', () => {
    const dockerfiles = readdirSync(join(REPO_ROOT, 'deploy', 'docker')).filter((f) => f.endsWith('.Dockerfile'));
    expect(dockerfiles.sort()).toEqual(apps.map((a) => `${a}.Dockerfile`).sort());
    expect(apps).toEqual(expect.arrayContaining(['cli', 'gateway', 'model-download', 'model-proxy']));
  });

  it.each(apps)('%s: multi-stage on node:20-bookworm-slim, npm ci, production install of the app only, non-root, tini, health', (app) => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'apps', app, 'package.json'), 'utf8')) as { name: string };
    const steps = instructions(readFileSync(join(REPO_ROOT, 'deploy', 'docker', `${app}.Dockerfile`), 'utf8'));
    const froms = steps.filter((s) => s.keyword === 'FROM').map((s) => s.args);
    expect(froms).toEqual(['node:20-bookworm-slim AS build', 'node:20-bookworm-slim']);
    const runtimeStart = steps.findIndex((s, i) => s.keyword === 'FROM' && i > 0);
    const build = steps.slice(0, runtimeStart);
    const runtime = steps.slice(runtimeStart);
    const runs = (part: Instruction[]) => part.filter((s) => s.keyword === 'RUN').map((s) => s.args).join(' && ');
    expect(runs(build)).toMatch(/\bnpm ci --no-audit\b/);
    expect(runs(build)).toContain(`npm run build --workspace ${pkg.name}`);
    // the app's production dependencies, installed in the build stage from its npm cache and copied over
    expect(runs(build)).toMatch(new RegExp(`cd /prod\\s+&& npm ci --omit=dev --workspace ${pkg.name} --prefer-offline`));
    expect(runs(runtime)).not.toMatch(/\bnpm\b/);
    expect(runtime.filter((s) => s.keyword === 'COPY').map((s) => s.args)).toContain('--from=build /prod/ ./');
    expect(runs(runtime)).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(runtime.filter((s) => s.keyword === 'COPY').map((s) => s.args)).toContain(`--from=build /src/apps/${app}/dist/ apps/${app}/dist/`);
    expect(runtime.filter((s) => s.keyword === 'USER').map((s) => s.args)).toEqual(['node']);
    // build-app.mjs writes every app to dist/main.js
    // the node flags the app declares (the same ones `bundlegate up` runs it with)
    const entrypoint = ['/usr/bin/tini', '--', 'node', ...appNodeFlags(REPO_ROOT, app), `/app/apps/${app}/dist/main.js`];
    expect(runtime.find((s) => s.keyword === 'ENTRYPOINT')?.args).toBe(`[${entrypoint.map((a) => JSON.stringify(a)).join(', ')}]`);
    // the environment the app declares (the same `bundlegate up` runs it with)
    const envSet = runtime.filter((s) => s.keyword === 'ENV').flatMap((s) => s.args.split(/\s+/));
    for (const [name, value] of Object.entries(appEnv(REPO_ROOT, app))) expect(envSet).toContain(`${name}=${value}`);
    const health = runtime.find((s) => s.keyword === 'HEALTHCHECK')?.args;
    const port = SERVICES[app];
    if (port === undefined) expect(health).toBe('NONE');
    else expect(health).toContain(`process.env.HEALTH_PORT||${port})+'/readyz'`);
  });

  it('begins every Dockerfile with the same install steps, so building several images installs the workspace once', () => {
    const heads = apps.map((app) => {
      const steps = instructions(readFileSync(join(REPO_ROOT, 'deploy', 'docker', `${app}.Dockerfile`), 'utf8'));
      const firstAppStep = steps.findIndex((s) => s.args.includes('--workspace @bundlegate/'));
      return steps.slice(0, firstAppStep);
    });
    expect(heads[0]?.some((s) => s.keyword === 'RUN' && /^npm ci\b/.test(s.args))).toBe(true);
    for (const head of heads) expect(head).toEqual(heads[0]);
  });

  it('keeps node_modules, build output and model files out of the build context', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', 'deploy/demo/bucket', '.git', 'tmp']));
  });
});
