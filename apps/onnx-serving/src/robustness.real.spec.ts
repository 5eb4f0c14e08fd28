import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import fc from 'fast-check';
import { kserve } from '@bundlegate/protos';
import { toModelInferRequest } from '@bundlegate/tensors';
import { GRPC_ERROR_CODE_KEY } from '@bundlegate/service-kit';
import { ANOMALY, call, CLASSIFIER, clients, startTestServer, type TestServer } from '../test/harness';

// Bad input never crashes the server or earns a server error: random bodies over REST, random bytes over gRPC.

const identity = (b: Buffer): Buffer => b;

describe('robustness against arbitrary input', () => {
  let t: TestServer;
  let raw: Client;

  beforeAll(async () => {
    t = await startTestServer([
      { name: 'clf', id: CLASSIFIER, versions: [1] },
      { name: 'anomaly', id: ANOMALY, versions: [1] },
    ]);
    raw = new Client(t.grpcAddress, credentials.createInsecure());
  });

  afterAll(async () => {
    raw.close();
    await t.close();
  });

  const send = (method: string, body: Buffer): Promise<{ code: number; bgCode: unknown }> =>
    new Promise((resolve) => {
      raw.makeUnaryRequest(method, identity, identity, body, new Metadata(), {}, (err: ServiceError | null) =>
        resolve({ code: err ? err.code : status.OK, bgCode: err?.metadata?.get(GRPC_ERROR_CODE_KEY)[0] }),
      );
    });

  it('answers garbage protobuf with INVALID_ARGUMENT on every inference method', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        for (const method of ['/inference.GRPCInferenceService/ModelInfer', '/tensorflow.serving.PredictionService/Predict', '/inference.GRPCInferenceService/ModelMetadata']) {
          const { code } = await send(method, Buffer.from(bytes));
          // random bytes may happen to decode to a (meaningless) valid message: then a 4xx-style status
          expect([status.INVALID_ARGUMENT, status.NOT_FOUND]).toContain(code);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('answers a binary_data_size on a shape past 2^53-1 elements with a 400 (found by the property below)', async () => {
    const body = { inputs: [{ name: 'image_input', datatype: 'FP32', shape: [1e12, 1e12], data: null, parameters: { binary_data_size: 0 } }] };
    const res = await fetch(`${t.restUrl}/v2/models/clf/infer`, { method: 'POST', body: JSON.stringify(body) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code?: string }).code).toBe('BG_INVALID_ARGUMENT');
  });

  it('answers arbitrary REST inference bodies with a 4xx', async () => {
    const tensor = fc.record({
      name: fc.oneof(fc.constant('image_input'), fc.string()),
      datatype: fc.oneof(fc.constantFrom('FP32', 'BYTES', 'INT64', 'BOOL', 'FP16'), fc.string()),
      shape: fc.array(fc.oneof(fc.integer({ min: -2, max: 70 }), fc.constant(1e12)), { maxLength: 5 }),
      data: fc.oneof(fc.array(fc.oneof(fc.double(), fc.boolean(), fc.string(), fc.integer())), fc.anything()),
      parameters: fc.option(fc.record({ binary_data_size: fc.oneof(fc.integer({ min: -5, max: 100 }), fc.string()) }), { nil: undefined }),
    });
    const body = fc.oneof(
      fc.record({ inputs: fc.array(tensor, { maxLength: 3 }), outputs: fc.option(fc.array(fc.record({ name: fc.string() })), { nil: undefined }) }),
      fc.anything(),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.option(fc.integer({ min: -3, max: 400 }), { nil: undefined }), async (b, headerLength) => {
        const res = await fetch(`${t.restUrl}/v2/models/clf/infer`, {
          method: 'POST',
          body: typeof b === 'string' ? b : JSON.stringify(b) ?? 'null',
          headers: headerLength === undefined ? {} : { 'inference-header-content-length': String(headerLength) },
        });
        await res.arrayBuffer();
        expect(res.status).toBeGreaterThanOrEqual(200);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps a stream going past a malformed message', async () => {
    const stream = raw.makeBidiStreamRequest('/inference.GRPCInferenceService/ModelStreamInfer', identity, identity);
    const responses: kserve.ModelStreamInferResponse[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (b: Buffer) => responses.push(kserve.ModelStreamInferResponse.decode(b)));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    // field 1 (model_name) claims 100 bytes and ends after 3
    stream.write(Buffer.from([0x0a, 0x64, 0x61, 0x62, 0x63]));
    const valid = toModelInferRequest({ modelName: 'clf', id: 'ok', inputs: [{ name: 'image_input', datatype: 'FP32', shape: [1, 64, 64, 3], data: new Float32Array(12288) }] });
    stream.write(Buffer.from(kserve.ModelInferRequest.encode(valid).finish()));
    stream.end();
    await done;
    expect(responses).toHaveLength(2);
    expect(responses[0]?.errorMessage).toMatch(/^the request is not a valid protobuf message/);
    expect(responses[1]).toMatchObject({ errorMessage: '', inferResponse: { modelName: 'clf', id: 'ok' } });
    const c = clients(t.grpcAddress);
    try {
      expect((await call(c.kserve, c.kserve.serverLive, {})).live).toBe(true);
    } finally {
      c.close();
    }
  });
});
