import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { credentials, loadPackageDefinition, Server, ServerCredentials, type ClientDuplexStream, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { loadSignatureFile } from '@bundlegate/bundle';
import { kserve } from '@bundlegate/protos';
import { createTensor, fromModelInferRequest, toModelInferResponse } from '@bundlegate/tensors';
import { GatewayBackend } from './backend-gateway';
import { ModelCatalog } from './model-catalog';
import { FIXTURES, gradientJpeg, startProxy } from '../test/proxy-harness';

// TLS to the gateway, and gRPC server reflection on the proxy's port.

const VISUAL = '6687ad3b04248f708c1e0c95';

describe('TLS to the gateway', () => {
  let dir: string;
  let server: Server;
  let address: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bg-proxy-tls-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=gateway.test',
      '-addext', 'subjectAltName=DNS:gateway.test', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' });
    server = new Server();
    server.addService(kserve.GRPCInferenceServiceService, {
      modelInfer: (call: { request: kserve.ModelInferRequest }, cb: (e: null, r: kserve.ModelInferResponse) => void) => {
        const input = fromModelInferRequest(call.request)[0];
        cb(null, toModelInferResponse({ modelName: call.request.modelName, outputs: [createTensor('FP32', [1, 14, 14, 768], new Float32Array(14 * 14 * 768).fill(input?.shape[1] ?? 0), 'output')] }));
      },
    } as unknown as kserve.GRPCInferenceServiceServer);
    const creds = ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(join(dir, 'cert.pem')), private_key: readFileSync(join(dir, 'key.pem')) }]);
    const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });

  afterAll(() => server.forceShutdown());

  it('verifies the gateway against the given CA and server name', async () => {
    const signature = await loadSignatureFile(join(FIXTURES, 'existing-deployment-signature.yaml'));
    const model = new ModelCatalog(signature, { maxImagePixels: 1e6 }).get(VISUAL);
    const jpeg = await gradientJpeg(32, 32);
    const tensor = await model.inputs[0]?.toTensor({ kind: 'image', bytes: jpeg });
    const call = { model: model.plan, inputs: tensor === undefined ? [] : [tensor], outputs: ['output'], deadline: Date.now() + 5000 };

    const trusted = new GatewayBackend({ target: address, maxMessageBytes: 1 << 24, tls: { ca: readFileSync(join(dir, 'cert.pem')), serverName: 'gateway.test' } });
    const outputs = await trusted.infer(call);
    expect(outputs.get('output')?.data[0]).toBe(3);
    await trusted.close();

    const untrusted = new GatewayBackend({ target: address, maxMessageBytes: 1 << 24, tls: { serverName: 'gateway.test' } });
    await expect(untrusted.infer({ ...call, deadline: Date.now() + 1500 })).rejects.toMatchObject({ code: 'BG_UPSTREAM_UNAVAILABLE', httpStatus: 503 });
    await untrusted.close();
  });
});

describe('server reflection', () => {
  it('lists the proxy API and health services', async () => {
    const running = await startProxy(join(FIXTURES, 'existing-deployment-signature.yaml'), '127.0.0.1:1');
    try {
      const protoFile = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto', 'grpc', 'reflection', 'v1', 'reflection.proto');
      const pkg = loadPackageDefinition(loadSync(protoFile, { keepCase: true })) as GrpcObject;
      const Reflection = ((pkg['grpc'] as GrpcObject)['reflection'] as GrpcObject)['v1'] as GrpcObject;
      const Client = Reflection['ServerReflection'] as ServiceClientConstructor;
      const client = new Client(running.grpcAddress, credentials.createInsecure());
      const stream = (client as unknown as { ServerReflectionInfo(): ClientDuplexStream<object, { list_services_response?: { service: { name: string }[] } }> }).ServerReflectionInfo();
      const names = await new Promise<string[]>((resolve, reject) => {
        stream.on('data', (res: { list_services_response?: { service: { name: string }[] } }) => {
          resolve((res.list_services_response?.service ?? []).map((s) => s.name));
          stream.end();
        });
        stream.on('error', reject);
        stream.write({ list_services: '' });
      });
      client.close();
      expect(names).toEqual(expect.arrayContaining(['bundlegate.v1.ModelProxy', 'grpc.health.v1.Health']));
    } finally {
      await running.close();
    }
  });
});
