import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { clusterName, inputKey, loadBundleFile, type LoadedBundle, type SignatureModel } from '@bundlegate/bundle';
import { startS3rver, S3RVER_ACCESS_KEY, S3RVER_REGION, type S3rverHandle } from '@bundlegate/emulators';
import type { bgv1 } from '@bundlegate/protos';
import { isRootUser, mountAt, publishedPorts, serviceOf, type ContainerInspect } from './containers';
import { ComposeProject, DockerCli, runCommand } from './docker';
import { grpcPredictByMetadata, proxyGrpcClient, ProxyHttp, type HttpAnswer } from './proxy-client';
import { startRelay, type Relay } from './relay';

// The compose deployment of the demo bundle, up on a private Docker engine, checked from the host the way a
// user would: run by tools/e2e/compose, which builds the images, generates base/ and example/ and passes
// their places in BG_E2E_* variables.

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set: run this suite through tools/e2e/compose`);
  return value;
}

const env = {
  compose: setting('BG_E2E_COMPOSE'),
  project: setting('BG_E2E_PROJECT'),
  docker: setting('BG_E2E_DOCKER'),
  deployment: setting('BG_E2E_DEPLOYMENT'),
  bundle: setting('BG_E2E_BUNDLE'),
  models: setting('BG_E2E_MODELS'),
  samples: setting('BG_E2E_SAMPLES'),
  imageTag: setting('BG_E2E_IMAGE_TAG'),
  httpPort: Number(setting('BG_E2E_HTTP_PORT')),
  grpcPort: Number(setting('BG_E2E_GRPC_PORT')),
  logDir: setting('BG_E2E_LOG_DIR'),
};

const MODELS_DIR = '/models';
const SAMPLE = 'gradient-320x240.jpg';
const OTHER_SAMPLE = 'shapes-640x480.jpg';

const docker = new DockerCli(env.docker);
const compose = new ComposeProject(env.compose, env.project);
const http = new ProxyHttp(`http://127.0.0.1:${env.httpPort}`);

let loaded: LoadedBundle;
let models: SignatureModel[];
let s3: S3rverHandle | undefined;
let relay: Relay | undefined;
let grpc: bgv1.ModelProxyClient | undefined;
let secret: string;
let sample: Buffer;
let otherSample: Buffer;

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

async function containers(): Promise<ContainerInspect[]> {
  return docker.inspect(await compose.containerIds());
}

async function containerOf(service: string): Promise<ContainerInspect> {
  const [id, ...more] = await compose.containerIds(service);
  if (id === undefined || more.length > 0) throw new Error(`expected one container for ${service}, found ${more.length + (id ? 1 : 0)}`);
  const [c] = await docker.inspect([id]);
  if (c === undefined) throw new Error(`container of ${service} vanished`);
  return c;
}

/** Every container of a service: one per replica. */
async function replicasOf(service: string): Promise<ContainerInspect[]> {
  return docker.inspect(await compose.containerIds(service));
}

/** Successful KServe ModelInfer calls of `modelId` one onnx-serving container has answered (its OVMS metrics). */
async function inferCalls(container: ContainerInspect, modelId: string): Promise<number> {
  const script = "fetch('http://127.0.0.1:8001/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))";
  const r = await docker.exec(container.Id, ['node', '-e', script]);
  if (r.code !== 0) throw new Error(`metrics of ${container.Name}: ${r.stderr}`);
  const line = r.stdout
    .split('\n')
    .find((l) => l.startsWith('ovms_requests_success{') && l.includes('interface="gRPC"') && l.includes('method="ModelInfer"') && l.includes(`name="${modelId}"`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function health(service: string): Promise<string> {
  const c = await containerOf(service);
  return c.State.Health?.Status ?? c.State.Status;
}

/** Every input of the model fed the same JPEG: what the README's `curl -F key=@image.jpg` sends. */
function imageParts(model: SignatureModel, jpeg: Buffer, filename: string) {
  return Object.fromEntries(model.inputs.map((input) => [inputKey(input), { data: jpeg, filename, type: 'image/jpeg' }]));
}

function imageInputs(model: SignatureModel, jpeg: Buffer): Record<string, bgv1.Input> {
  return Object.fromEntries(model.inputs.map((input) => [inputKey(input), { image: jpeg }]));
}

interface FriendlyOutput {
  typeId: string;
  label?: string;
  score?: number;
  rows?: number;
  cols?: number;
  channels?: number;
  data?: string;
}

function httpOutputs(a: HttpAnswer): FriendlyOutput[] {
  expect(a.status).toBe(200);
  return (a.body as { outputs: FriendlyOutput[] }).outputs;
}

/** The HTTP outputs of a predict, in the shape gRPC gives them, so the two can be compared exactly. */
function asGrpcOutputs(outputs: FriendlyOutput[]): unknown[] {
  return outputs.map((o) => {
    if (o.typeId === 'MaxClassification') return { typeId: o.typeId, classification: { label: o.label, score: o.score } };
    if (o.typeId === 'GridEmbedding') return { typeId: o.typeId, embeddingGrid: { rows: o.rows, cols: o.cols, channels: o.channels, data: Buffer.from(o.data ?? '', 'base64') } };
    return o;
  });
}

function grpcOutputs(r: bgv1.PredictResponse): unknown[] {
  return r.outputs.map((o) => {
    const base = { typeId: o.typeId };
    if (o.classification) return { ...base, classification: { label: o.classification.label, score: o.classification.score } };
    if (o.embeddingGrid) return { ...base, embeddingGrid: { ...o.embeddingGrid, data: Buffer.from(o.embeddingGrid.data) } };
    return { ...base, tensor: o.tensor };
  });
}

/** Checks one predict's outputs against the model's signature and returns them. */
function checkOutputs(model: SignatureModel, outputs: FriendlyOutput[]): FriendlyOutput[] {
  expect(outputs.map((o) => o.typeId)).toEqual(model.outputs.map((o) => o.typeId));
  model.outputs.forEach((spec, i) => {
    const out = outputs[i] as FriendlyOutput;
    if (spec.typeId === 'MaxClassification') {
      expect(typeof out.label).toBe('string');
      expect(out.label).not.toBe('');
      expect(out.score).toBeGreaterThan(0);
      expect(out.score).toBeLessThanOrEqual(1);
    } else if (spec.typeId === 'GridEmbedding') {
      expect([out.rows, out.cols, out.channels]).toEqual([spec.params.rows, spec.params.cols, spec.params.numChannels]);
      const bytes = Buffer.from(out.data ?? '', 'base64');
      expect(bytes.length).toBe(spec.params.rows * spec.params.cols * spec.params.numChannels * 4);
      const values = new Float32Array(new Uint8Array(bytes).buffer);
      expect(values.every(Number.isFinite)).toBe(true);
      // an all-equal grid would mean the image never reached the model
      expect(values.some((v) => v !== values[0])).toBe(true);
    }
  });
  return outputs;
}

async function predictHttp(model: SignatureModel, jpeg: Buffer, filename: string): Promise<HttpAnswer> {
  return http.predictMultipart(model.id, imageParts(model, jpeg, filename), '?encoding=base64');
}

beforeAll(async () => {
  loaded = await loadBundleFile(env.bundle);
  models = loaded.signature.bundles.flatMap((b) => b.models);
  sample = await readFile(join(env.samples, SAMPLE));
  otherSample = await readFile(join(env.samples, OTHER_SAMPLE));
  const source = loaded.bundle.source;
  if (source?.scheme !== 's3') throw new Error(`${env.bundle}: expected an s3:// source, got ${source?.uri}`);

  // the network first (with the download's container, which depends on nothing: compose v1 would otherwise wait
  // for the download to complete before creating the rest): its gateway is where the containers reach the host
  await compose.run(['up', '--no-start', 'model_download'], 120_000);
  const gateway = await docker.networkGateway(compose.defaultNetwork);

  s3 = await startS3rver({ buckets: [source.bucket] });
  const client = s3.client();
  for (const file of await listFiles(env.models)) {
    const key = [source.prefix, relative(env.models, file)].filter((p) => p !== '').join('/');
    await client.send(new PutObjectCommand({ Bucket: source.bucket, Key: key, Body: await readFile(file) }));
  }
  // the harness binds 127.0.0.1 only; the containers reach it through the gateway address
  relay = await startRelay({ listenHost: gateway, targetHost: '127.0.0.1', targetPort: s3.port });

  // creds/bundle/.env as a user fills it in; the secret is random so the logs can be searched for it
  secret = `e2e-${randomBytes(12).toString('hex')}`;
  const credsFile = join(env.deployment, 'example', 'creds', 'bundle', '.env');
  const creds = await readFile(credsFile, 'utf8');
  await writeFile(
    credsFile,
    `${creds}\nRCLONE_S3_PROVIDER=Other\nRCLONE_S3_ACCESS_KEY_ID=${S3RVER_ACCESS_KEY}\nRCLONE_S3_SECRET_ACCESS_KEY=${secret}\n` +
      `RCLONE_S3_ENDPOINT=http://${relay.host}:${relay.port}\nRCLONE_S3_REGION=${S3RVER_REGION}\n`,
  );

  // compose v1 waits for each depends_on condition (download completed, serving and gateway healthy); nothing
  // waits for the proxy, so its health check is awaited here
  await compose.run(['up', '-d'], 420_000);
  await waitFor('every service healthy', 180_000, async () => {
    const all = await containers();
    return all.every((c) => serviceOf(c) === 'model_download' || c.State.Health?.Status === 'healthy') ? true : undefined;
  });
  await waitFor('model proxy ready', 60_000, async () => ((await http.get('/readyz')).status === 200 ? true : undefined));
  grpc = proxyGrpcClient(`127.0.0.1:${env.grpcPort}`);
}, 600_000);

afterAll(async () => {
  grpc?.close();
  // the services' logs outlive the project, for the script to show when something failed
  const logs = await runCommand(env.compose, ['logs', '--no-color', '--timestamps']).catch((error: unknown) => ({ stdout: '', stderr: String(error) }));
  await writeFile(join(env.logDir, 'services.log'), `${logs.stdout}${logs.stderr}`);
  await compose.run(['down', '--volumes', '--remove-orphans', '--timeout', '10'], 180_000).catch((error: unknown) => console.error(String(error)));
  await relay?.close();
  await s3?.stop();
}, 240_000);

describe('compose deployment of the demo bundle (docker-compose v1)', () => {
  it('ran model_download to completion from the s3 bucket, and every service is healthy on the images just built', async () => {
    const all = await containers();
    const byService = new Map(all.map((c) => [serviceOf(c), c]));
    const expected = ['model_download', ...loaded.bundle.models.map((m) => clusterName(m.id)), 'gateway', 'model_proxy'];
    expect([...byService.keys()].sort()).toEqual([...expected].sort());
    const download = byService.get('model_download') as ContainerInspect;
    expect({ status: download.State.Status, exitCode: download.State.ExitCode }).toEqual({ status: 'exited', exitCode: 0 });
    for (const service of expected.filter((s) => s !== 'model_download')) {
      for (const c of all.filter((x) => serviceOf(x) === service)) {
        expect({ service, health: c.State.Health?.Status }).toEqual({ service, health: 'healthy' });
      }
    }
    // one container per replica
    for (const model of loaded.bundle.models) {
      expect({ model: model.id, containers: (await replicasOf(clusterName(model.id))).length }).toEqual({ model: model.id, containers: model.replicas });
    }
    // the image tag came from conf/bundle/.env through compose interpolation
    for (const c of all) expect(c.Config.Image).toMatch(new RegExp(`^bundlegate/[a-z-]+:${env.imageTag}$`));
    expect(relay?.connections()).toBeGreaterThan(0);
  });

  it('serves model files byte-identical to the bucket, from a volume mounted read-only', async () => {
    for (const model of loaded.bundle.models) {
      // the bucket's files as model-download wrote them on the host, hashed once for every replica
      const hostFiles = await listFiles(join(env.models, model.id));
      expect(hostFiles.length).toBeGreaterThan(0);
      const expected = await Promise.all(
        hostFiles.map(async (file) => ({
          inContainer: `${MODELS_DIR}/${model.id}/${relative(join(env.models, model.id), file)}`,
          sha256: createHash('sha256').update(await readFile(file)).digest('hex'),
        })),
      );
      for (const c of await replicasOf(clusterName(model.id))) {
        expect(mountAt(c, MODELS_DIR)).toMatchObject({ Type: 'volume', RW: false });
        for (const { inContainer, sha256 } of expected) {
          const r = await docker.exec(c.Id, ['sha256sum', inContainer]);
          expect(r.code).toBe(0);
          expect(r.stdout.split(' ')[0]).toBe(sha256);
        }
        const write = await docker.exec(c.Id, ['touch', `${MODELS_DIR}/${model.id}/e2e-write-probe`]);
        expect(write.code).not.toBe(0);
        expect(write.stderr).toMatch(/Read-only file system/);
      }
    }
  });

  it('publishes only the model proxy: HTTP and gRPC on 127.0.0.1 at the ports of conf/bundle/.env', async () => {
    const published = Object.fromEntries((await containers()).map((c) => [serviceOf(c), publishedPorts(c)]));
    const { model_proxy: proxy, ...others } = published;
    expect(proxy).toEqual([
      { containerPort: '8000/tcp', hostIp: '127.0.0.1', hostPort: env.httpPort },
      { containerPort: '8005/tcp', hostIp: '127.0.0.1', hostPort: env.grpcPort },
    ]);
    for (const [service, ports] of Object.entries(others)) expect({ service, ports }).toEqual({ service, ports: [] });
  });

  it('runs every process as a non-root user', async () => {
    for (const c of await containers()) {
      const service = serviceOf(c);
      expect({ service, rootUser: isRootUser(c.Config.User) }).toEqual({ service, rootUser: false });
      if (!c.State.Running) continue;
      const processes = await docker.top(c.Id);
      expect(processes.length).toBeGreaterThan(0);
      for (const p of processes) expect({ service, command: p.command, uid: p.uid === 0 ? 'root' : 'non-root' }).toEqual({ service, command: p.command, uid: 'non-root' });
    }
  });

  it('GET /api/v1/config lists the signature: bundles, models, input keys, all ready', async () => {
    const a = await http.get('/api/v1/config');
    expect(a.status).toBe(200);
    const config = a.body as { bundles: { name: string; backendInferenceEngine: string; models: { id: string; backendInferenceEngine: string; ready: boolean; inputs: { typeId: string; key: string }[]; outputs: { typeId: string }[] }[] }[] };
    expect(config.bundles.map((b) => ({ name: b.name, backendInferenceEngine: b.backendInferenceEngine, models: b.models.map((m) => m.id) }))).toEqual(
      loaded.signature.bundles.map((b) => ({ name: b.name, backendInferenceEngine: b.backendInferenceEngine, models: b.models.map((m) => m.id) })),
    );
    for (const model of models) {
      const got = config.bundles.flatMap((b) => b.models).find((m) => m.id === model.id);
      expect(got).toMatchObject({
        backendInferenceEngine: model.backendInferenceEngine,
        ready: true,
        inputs: model.inputs.map((i) => ({ typeId: i.typeId, key: inputKey(i) })),
        outputs: model.outputs.map((o) => ({ typeId: o.typeId })),
      });
    }
    expect(a.text).not.toContain(secret);
  });

  it('answers a predict with a demo JPEG over HTTP, and the same over gRPC with model-id metadata', async () => {
    for (const model of models) {
      const viaHttp = checkOutputs(model, httpOutputs(await predictHttp(model, sample, SAMPLE)));
      const viaGrpc = await grpcPredictByMetadata(grpc as bgv1.ModelProxyClient, model.id, imageInputs(model, sample));
      expect(viaGrpc.modelId).toBe(model.id);
      expect(grpcOutputs(viaGrpc)).toEqual(asGrpcOutputs(viaHttp));
      // a different picture gives a different answer: the image reaches the model
      const other = checkOutputs(model, httpOutputs(await predictHttp(model, otherSample, OTHER_SAMPLE)));
      expect(other).not.toEqual(viaHttp);
    }
  });

  it('spreads a model’s calls over its replicas: the gateway dials every address of the service name', async () => {
    const replicated = loaded.bundle.models.filter((m) => m.replicas > 1);
    expect(replicated.length).toBeGreaterThan(0);
    for (const m of replicated) {
      const model = models.find((x) => x.id === m.id) as SignatureModel;
      const replicas = await replicasOf(clusterName(m.id));
      const before = await Promise.all(replicas.map((c) => inferCalls(c, m.id)));
      for (let i = 0; i < 12; i++) checkOutputs(model, httpOutputs(await predictHttp(model, sample, SAMPLE)));
      const after = await Promise.all(replicas.map((c) => inferCalls(c, m.id)));
      const served = after.map((n, i) => n - (before[i] as number));
      expect(served.reduce((a, b) => a + b, 0)).toBe(12);
      for (const n of served) expect(n).toBeGreaterThan(0);
    }
  });

  describe('one serving container stopped', () => {
    // the classifier is the one stopped; every other model must keep answering
    const stopped = () => models[models.length - 1] as SignatureModel;
    const others = () => models.slice(0, -1);
    let before: Map<string, FriendlyOutput[]>;

    beforeAll(async () => {
      before = new Map();
      for (const model of models) before.set(model.id, httpOutputs(await predictHttp(model, sample, SAMPLE)));
      await compose.run(['stop', '--timeout', '10', clusterName(stopped().id)], 60_000);
    }, 120_000);

    it('the proxy turns not-ready and names the model in /readyz and /api/v1/config', async () => {
      const a = await waitFor('model proxy not ready', 60_000, async () => {
        const r = await http.get('/readyz');
        return r.status === 200 ? undefined : r;
      });
      expect(a.status).toBe(503);
      expect(a.text).toContain(stopped().id);
      const config = (await http.get('/api/v1/config')).body as { bundles: { models: { id: string; ready: boolean }[] }[] };
      const ready = Object.fromEntries(config.bundles.flatMap((b) => b.models).map((m) => [m.id, m.ready]));
      expect(ready).toEqual(Object.fromEntries(models.map((m) => [m.id, m.id !== stopped().id])));
    });

    it("predicts for that model fail with 503 over HTTP and UNAVAILABLE over gRPC, naming it", async () => {
      const a = await predictHttp(stopped(), sample, SAMPLE);
      expect(a.status).toBe(503);
      expect(JSON.stringify((a.body as { error?: unknown }).error)).toContain(stopped().id);
      const error = await grpcPredictByMetadata(grpc as bgv1.ModelProxyClient, stopped().id, imageInputs(stopped(), sample)).then(
        () => undefined,
        (e: ServiceError) => e,
      );
      expect(error?.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(error?.details).toContain(stopped().id);
    });

    it('the other models keep answering, with the same outputs as before', async () => {
      expect(others().length).toBeGreaterThan(0);
      for (const model of others()) expect(httpOutputs(await predictHttp(model, sample, SAMPLE))).toEqual(before.get(model.id));
    });

    it('after a restart everything is ready again and answers as before', async () => {
      await compose.run(['start', clusterName(stopped().id)], 60_000);
      await waitFor(`${clusterName(stopped().id)} healthy`, 120_000, async () => ((await health(clusterName(stopped().id))) === 'healthy' ? true : undefined));
      await waitFor('model proxy ready again', 60_000, async () => ((await http.get('/readyz')).status === 200 ? true : undefined));
      for (const model of models) expect(httpOutputs(await predictHttp(model, sample, SAMPLE))).toEqual(before.get(model.id));
    });
  });

  it('keeps the S3 secret out of every container log', async () => {
    for (const c of await containers()) {
      const logs = await docker.logs(c.Id);
      expect({ service: serviceOf(c), leaks: `${logs.stdout}${logs.stderr}`.includes(secret) }).toEqual({ service: serviceOf(c), leaks: false });
    }
  });
});
