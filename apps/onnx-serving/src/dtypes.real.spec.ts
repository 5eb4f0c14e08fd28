import { join } from 'node:path';
import {
  decodeInferResponseJson,
  encodeInferRequestJson,
  fromModelInferResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  toFp16Array,
  toModelInferRequest,
  type DataType,
  type Tensor,
} from '@bundlegate/tensors';
import { call, clients, startTestServer, type TestServer } from '../test/harness';
import { addIdentityVersion, IDENTITY_DTYPES, IDENTITY_SHAPE } from '../test/identity-model';

const TYPED_DTYPES: readonly DataType[] = IDENTITY_DTYPES.filter((d) => d !== 'FP16');

// Every datatype a model can declare, in typed and raw contents over gRPC and as JSON and binary data over REST.

function sample(datatype: DataType): Tensor {
  const name = `x_${datatype}`;
  const shape = IDENTITY_SHAPE;
  const ints = [0, 1, 2, 3, 100, 127];
  const data = ((): Tensor['data'] => {
    switch (datatype) {
      case 'BOOL': return Uint8Array.from([1, 0, 1, 1, 0, 0]);
      case 'UINT8': return Uint8Array.from([0, 1, 2, 250, 254, 255]);
      case 'UINT16': return Uint16Array.from([0, 1, 2, 65000, 65534, 65535]);
      case 'UINT32': return Uint32Array.from([0, 1, 2, 4e9, 4294967294, 4294967295]);
      case 'UINT64': return BigUint64Array.from([0n, 1n, 2n, 2n ** 53n - 1n, 7n, 9n]);
      case 'INT8': return Int8Array.from([-128, -1, 0, 1, 2, 127]);
      case 'INT16': return Int16Array.from([-32768, -1, 0, 1, 2, 32767]);
      case 'INT32': return Int32Array.from([-2147483648, -1, 0, 1, 2, 2147483647]);
      case 'INT64': return BigInt64Array.from([-(2n ** 53n) + 1n, -1n, 0n, 1n, 2n, 2n ** 53n - 1n]);
      case 'FP16': return toFp16Array([-2, -0.5, 0, 0.25, 1, 65504]);
      case 'FP32': return Float32Array.from([-1.5, -0.25, 0, 0.1, 3.5, 1e30]);
      case 'FP64': return Float64Array.from([-1.5, -0.25, 0, 0.1, 3.5, 1e300]);
      case 'BYTES': return ['a', '', 'héllo', 'tampered', 'x y', '∑'].map((s) => Buffer.from(s));
      default: return Uint8Array.from(ints);
    }
  })();
  return { name, datatype, shape, data } as Tensor;
}

const asComparable = (t: Tensor): unknown => (Array.isArray(t.data) ? t.data.map((b) => Buffer.from(b).toString()) : Array.from(t.data as ArrayLike<number | bigint>));

describe('every datatype, both protocols', () => {
  let t: TestServer;
  let c: ReturnType<typeof clients>;
  const inputs = IDENTITY_DTYPES.map(sample);

  beforeAll(async () => {
    t = await startTestServer([]);
    await addIdentityVersion(join(t.dir, 'identity'), 1);
    await addIdentityVersion(join(t.dir, 'typed'), 1, TYPED_DTYPES);
    await t.writeConfig([
      { name: 'identity', id: '', versions: [] },
      { name: 'typed', id: '', versions: [] },
    ]);
    await t.server.poller.pollNow();
    c = clients(t.grpcAddress);
  });

  afterAll(async () => {
    c.close();
    await t.close();
  });

  it('declares each datatype in its metadata', async () => {
    const meta = await call(c.kserve, c.kserve.modelMetadata, { name: 'identity', version: '' });
    expect(meta.inputs.map((i) => i.datatype)).toEqual(IDENTITY_DTYPES);
  });

  function expectEcho(outputs: readonly Tensor[]): void {
    for (const input of inputs) {
      const out = outputs.find((o) => o.name === `y_${input.datatype}`);
      expect({ name: out?.name, datatype: out?.datatype, shape: out?.shape }).toEqual({ name: `y_${input.datatype}`, datatype: input.datatype, shape: IDENTITY_SHAPE });
      expect(asComparable(out as Tensor)).toEqual(asComparable(input));
    }
  }

  it('round-trips raw contents over gRPC', async () => {
    const response = await call(c.kserve, c.kserve.modelInfer, toModelInferRequest({ modelName: 'identity', inputs }, { contents: 'raw' }));
    expectEcho(fromModelInferResponse(response));
  });

  it('round-trips typed contents over gRPC for every datatype KServe has a typed field for (all but FP16)', async () => {
    const typed = inputs.filter((i) => TYPED_DTYPES.includes(i.datatype));
    const request = toModelInferRequest({ modelName: 'typed', inputs: typed }, { contents: 'typed' });
    expect(request.rawInputContents).toEqual([]);
    const response = await call(c.kserve, c.kserve.modelInfer, request);
    const outputs = fromModelInferResponse(response);
    for (const input of typed) expect(asComparable(outputs.find((o) => o.name === `y_${input.datatype}`) as Tensor)).toEqual(asComparable(input));
  });

  it('round-trips JSON data and binary data over REST', async () => {
    for (const binary of [false, true]) {
      const body = encodeInferRequestJson({ inputs, outputs: IDENTITY_DTYPES.map((d) => ({ name: `y_${d}`, parameters: { binary_data: binary } })) }, { binary });
      const res = await fetch(`${t.restUrl}/v2/models/identity/infer`, {
        method: 'POST',
        body: Buffer.concat(body.parts),
        headers: body.headerLength === undefined ? {} : { [INFERENCE_HEADER_CONTENT_LENGTH]: String(body.headerLength) },
      });
      expect(res.status).toBe(200);
      const decoded = decodeInferResponseJson(new Uint8Array(await res.arrayBuffer()), res.headers.get(INFERENCE_HEADER_CONTENT_LENGTH) ?? undefined);
      expectEcho(decoded.outputs);
    }
  });
});
