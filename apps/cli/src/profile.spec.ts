import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadBundleFile, ovmsConfig } from '@bundlegate/bundle';
import { parse as parseShell } from 'shell-quote';
import { dockerRunArgs, loadProfile, parseProfile, printProfile, ProfileError, shellWord } from './profile';
import { DockerCommandError, runProfile } from './profile-run';
import { DEMO_DIR, DEMO_IDS, REPO_ROOT } from './testing/fixtures';

const PROFILES = join(REPO_ROOT, 'deploy', 'profiles');
const profileFiles = readdirSync(PROFILES).filter((f) => f.endsWith('.yaml'));
const dockerCli = ['/usr/bin/docker', '/usr/local/bin/docker'].find((p) => existsSync(p));
// a daemon address that cannot answer: the CLI still parses and checks every flag before it dials
const NO_DAEMON = { ...process.env, DOCKER_HOST: 'unix:///nonexistent/bundlegate-test.sock' };

function dockerVerdict(args: string[]): Promise<string> {
  return new Promise((resolve) => execFile(dockerCli as string, args, { env: NO_DAEMON, timeout: 15_000 }, (_e, _out, err) => resolve(String(err))));
}

describe('shipped profiles', () => {
  it('are the single-container, multi-container (onnx-serving and OVMS) and remote-server profiles', () => {
    expect(profileFiles.sort()).toEqual(['multi-container-ovms.yaml', 'multi-container.yaml', 'remote-server.yaml', 'single-container.yaml']);
  });

  it.each(profileFiles)('%s prints docker commands whose words round-trip through a shell', async (file) => {
    const profile = await loadProfile(join(PROFILES, file));
    const lines = printProfile(profile);
    const runs = lines.filter((l) => l.startsWith('docker run '));
    expect(runs).toHaveLength(profile.containers.length);
    profile.containers.forEach((c, i) => {
      expect(parseShell(runs[i] as string)).toEqual(['docker', ...dockerRunArgs(profile, c, { detach: true })]);
    });
  });

  (dockerCli === undefined ? it.skip : it)('the Docker CLI check tells a malformed line from a good one', async () => {
    expect(await dockerVerdict(['run', '-d', '-p', '80:80:80:80', 'img'])).toMatch(/invalid ip address/i);
    expect(await dockerVerdict(['run', '-d', '-p', '80:80', 'img'])).toContain('Cannot connect to the Docker daemon');
  });

  (dockerCli === undefined ? it.skip : it).each(profileFiles)('%s prints lines the Docker CLI accepts', async (file) => {
    const profile = await loadProfile(join(PROFILES, file));
    for (const c of profile.containers) {
      const verdict = await dockerVerdict(dockerRunArgs(profile, c, { detach: true }));
      // only a line whose flags, ports, mounts and env file all passed reaches the daemon
      expect({ container: c.name, verdict }).toEqual({ container: c.name, verdict: expect.stringContaining('Cannot connect to the Docker daemon') });
    }
  });

  it('multi-container serves every demo model from a config.json that matches the demo bundle', async () => {
    const demo = await loadBundleFile(join(DEMO_DIR, 'bundle.yaml'));
    expect(JSON.parse(await readFile(join(PROFILES, 'config/demo-models.json'), 'utf8'))).toEqual(ovmsConfig(demo.bundle, { basePathPrefix: '/models' }));
    for (const file of ['multi-container.yaml', 'multi-container-ovms.yaml']) {
      const profile = await loadProfile(join(PROFILES, file));
      const [serving, gateway] = profile.containers;
      expect(serving?.ready).toEqual(DEMO_IDS.map((id) => `http://127.0.0.1:8001/v2/models/${id}/ready`));
      const routes = (gateway?.args ?? []).filter((_, i, a) => a[i - 1] === '--route');
      expect(routes).toEqual(DEMO_IDS.map((id) => `${id}=${serving?.name}:9000`));
    }
  });

  it('multi-container prints the network first and mounts paths made absolute from the profile', async () => {
    const lines = printProfile(await loadProfile(join(PROFILES, 'multi-container.yaml')));
    expect(lines[0]).toBe('docker network create bundlegate 2>/dev/null || true');
    expect(lines[1]).toBe(
      `docker run -d --rm --name onnx-serving --network bundlegate --network-alias onnx-serving -p 127.0.0.1:8001:8001 -v ${DEMO_DIR}/bucket/models:/models:ro -v ${PROFILES}/config/demo-models.json:/config/config.json:ro bundlegate/onnx-serving:0.1.0 --config_path /config/config.json --port 9000 --rest_port 8001`,
    );
  });

  it('remote-server configures the gateway for TLS to the serving host through its env file', async () => {
    const profile = await loadProfile(join(PROFILES, 'remote-server.yaml'));
    const gateway = profile.containers[0];
    expect(dockerRunArgs(profile, gateway as never, { detach: false })).toContain(join(PROFILES, 'remote-server/gateway.env'));
    const env = await readFile(join(PROFILES, 'remote-server/gateway.env'), 'utf8');
    expect(env).toMatch(/^GATEWAY_UPSTREAM_TLS=true$/m);
    expect(env).toMatch(/^GATEWAY_UPSTREAM_CA=\/certs\/ca\.pem$/m);
    for (const id of DEMO_IDS) expect(env).toMatch(new RegExp(`^GATEWAY_ROUTE=.*${id}=`, 'm'));
  });
});

describe('parseProfile', () => {
  it('reports every problem at once', () => {
    const text = `
- name: a
  volume: [x]
  ports: ["80:80:80:80"]
- name: a
  image: img
- image: img2
`;
    const error = (() => {
      try {
        parseProfile(text, 'bad.yaml');
      } catch (e) {
        return e as ProfileError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(ProfileError);
    expect(error.problems).toEqual(
      expect.arrayContaining([
        "0: must have required property 'image'",
        "0: must NOT have additional properties 'volume'",
        expect.stringMatching(/^0\.ports\.0: must match pattern/),
        "2: must have required property 'name'",
      ]),
    );
  });

  it('rejects a name used twice', () => {
    expect(() => parseProfile('- {name: a, image: x}\n- {name: a, image: y}\n', 'dup.yaml')).toThrow("1.name: container name 'a' is used twice");
  });

  it('splits an entrypoint into --entrypoint and leading arguments, keeps named volumes, adds env', () => {
    const profile = parseProfile('- {name: a, image: img, entrypoint: [sh, -c], args: ["echo hi"], volumes: ["cache:/cache", "./d:/d:ro"], env: {A: "1 2"}}\n', '/p/profile.yaml');
    const args = dockerRunArgs(profile, profile.containers[0] as never, { detach: false });
    expect(args).toEqual(['run', '--rm', '--name', 'a', '-e', 'A=1 2', '-v', 'cache:/cache', '-v', '/p/d:/d:ro', '--entrypoint', 'sh', 'img', '-c', 'echo hi']);
  });
});

describe('shellWord', () => {
  it.each(['plain', 'a b', "it's", 'x=$HOME', '', 'a"b', '*'])('%j survives a shell', (word) => {
    expect(parseShell(`echo ${shellWord(word)}`, (name) => `<${name}>`)).toEqual(['echo', word]);
  });
});

(dockerCli === undefined ? describe.skip : describe)('profile run without a reachable Docker daemon', () => {
  it('fails before starting anything, with the CLI error', async () => {
    const profile = await loadProfile(join(PROFILES, 'multi-container.yaml'));
    const log: string[] = [];
    const error = await runProfile(profile, { log: (l) => void log.push(l), signal: new AbortController().signal }, { docker: dockerCli, env: NO_DAEMON, readyTimeoutMs: 1000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DockerCommandError);
    expect((error as Error).message).toMatch(/^docker network create bundlegate failed: .*Cannot connect to the Docker daemon/s);
    expect(log).toEqual([]);
  });
});
