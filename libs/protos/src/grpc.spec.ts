// The generated service definitions and client classes against a real grpc-js server on 127.0.0.1.
import {
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ClientDuplexStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { kserve, tf, tfs } from './index';

/** Doubles every element of the single FP32 input: a real computation, so a wrong decode shows. */
function doubleFp32(req: kserve.ModelInferRequest): kserve.ModelInferResponse {
  const input = req.inputs[0];
  const raw = req.rawInputContents[0];
  if (!input || !raw || input.datatype !== 'FP32') throw new Error('expected one raw FP32 input');
  const out = Buffer.alloc(raw.length);
  for (let i = 0; i < raw.length; i += 4) out.writeFloatLE(raw.readFloatLE(i) * 2, i);
  return kserve.ModelInferResponse.fromPartial({
    modelName: req.modelName,
    modelVersion: '1',
    id: req.id,
    outputs: [{ name: 'y', datatype: 'FP32', shape: input.shape }],
    rawOutputContents: [out],
  });
}

function fp32(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeFloatLE(v, i * 4));
  return b;
}

function inferRequest(modelName: string, id: string, values: number[]): kserve.ModelInferRequest {
  return kserve.ModelInferRequest.fromPartial({
    modelName,
    id,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, BigInt(values.length)] }],
    rawInputContents: [fp32(...values)],
  });
}

const knownModel = 'doubler';

const kserveImpl: kserve.GRPCInferenceServiceServer = {
  serverLive: (_call, callback) => callback(null, { live: true }),
  serverReady: (_call, callback) => callback(null, { ready: true }),
  modelReady: (call, callback) => callback(null, { ready: call.request.name === knownModel }),
  serverMetadata: (_call, callback) => callback(null, { name: 'test', version: '0', extensions: ['streaming'] }),
  modelMetadata(call, callback) {
    if (call.request.name !== knownModel) {
      callback({ code: status.NOT_FOUND, details: `unknown model ${call.request.name}` });
      return;
    }
    callback(null, {
      name: knownModel,
      versions: ['1'],
      platform: 'test',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1n, -1n] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1n, -1n] }],
      properties: {},
    });
  },
  modelInfer(call, callback) {
    if (call.request.modelName !== knownModel) {
      callback({ code: status.NOT_FOUND, details: `unknown model ${call.request.modelName}` });
      return;
    }
    // Echo the routing metadata as response headers so the test sees it cross the hop intact.
    const md = new Metadata();
    md.set('model-id', String(call.metadata.get('model-id')[0] ?? ''));
    call.sendMetadata(md);
    callback(null, doubleFp32(call.request));
  },
  modelStreamInfer(call) {
    call.on('data', (req: kserve.ModelInferRequest) => {
      if (req.modelName !== knownModel) call.write({ errorMessage: `unknown model ${req.modelName}` });
      else call.write({ errorMessage: '', inferResponse: doubleFp32(req) });
    });
    call.on('end', () => call.end());
  },
};

const tfsImpl: tfs.PredictionServiceServer = {
  getModelMetadata: (_call, callback) => callback({ code: status.UNIMPLEMENTED, details: 'no signatures here' }),
  predict(call, callback) {
    const x = call.request.inputs['x'];
    callback(null, {
      modelSpec: call.request.modelSpec,
      outputs: { sum: { ...tf.TensorProto.fromPartial({ dtype: tf.DataType.DT_FLOAT }), floatVal: [x?.floatVal.reduce((a, b) => a + b, 0) ?? 0] } },
    });
  },
};

describe('grpc-js round trip with the generated services and clients', () => {
  let server: Server;
  let target: string;

  beforeAll(async () => {
    server = new Server();
    server.addService(kserve.GRPCInferenceServiceService, kserveImpl);
    server.addService(tfs.PredictionServiceService, tfsImpl);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    target = `127.0.0.1:${port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  });

  it('ModelInfer: unary call with metadata and raw contents', async () => {
    const client = new kserve.GRPCInferenceServiceClient(target, credentials.createInsecure());
    try {
      const md = new Metadata();
      md.set('model-id', knownModel);
      const { res, headers } = await new Promise<{ res: kserve.ModelInferResponse; headers: Metadata }>((resolve, reject) => {
        let headers = new Metadata();
        const call = client.modelInfer(inferRequest(knownModel, 'req-1', [1.5, -2, 4]), md, (err, res) =>
          err ? reject(err) : resolve({ res, headers }),
        );
        call.on('metadata', (m) => (headers = m));
      });
      expect(res.modelName).toBe(knownModel);
      expect(res.id).toBe('req-1');
      expect(res.outputs[0]?.shape).toEqual([1n, 3n]);
      expect(res.rawOutputContents[0]?.equals(fp32(3, -4, 8))).toBe(true);
      expect(headers.get('model-id')).toEqual([knownModel]);
    } finally {
      client.close();
    }
  });

  it('ModelInfer: an unknown model comes back as NOT_FOUND', async () => {
    const client = new kserve.GRPCInferenceServiceClient(target, credentials.createInsecure());
    try {
      const err = await new Promise<ServiceError | null>((resolve) =>
        client.modelInfer(inferRequest('nope', '', [1]), (e) => resolve(e)),
      );
      expect(err?.code).toBe(status.NOT_FOUND);
      expect(err?.details).toBe('unknown model nope');
    } finally {
      client.close();
    }
  });

  it('health and metadata methods answer through the generated client', async () => {
    const client = new kserve.GRPCInferenceServiceClient(target, credentials.createInsecure());
    try {
      const done = <T>(resolve: (v: T) => void, reject: (e: Error) => void) => (err: ServiceError | null, res: T) =>
        err ? reject(err) : resolve(res);
      const live = await new Promise<kserve.ServerLiveResponse>((ok, ko) => client.serverLive({}, done(ok, ko)));
      expect(live).toEqual({ live: true });
      const ready = await new Promise<kserve.ModelReadyResponse>((ok, ko) =>
        client.modelReady({ name: 'missing', version: '' }, done(ok, ko)),
      );
      expect(ready).toEqual({ ready: false });
      const server = await new Promise<kserve.ServerMetadataResponse>((ok, ko) => client.serverMetadata({}, done(ok, ko)));
      expect(server.extensions).toEqual(['streaming']);
      const meta = await new Promise<kserve.ModelMetadataResponse>((ok, ko) =>
        client.modelMetadata({ name: knownModel, version: '' }, done(ok, ko)),
      );
      expect(meta.inputs[0]?.shape).toEqual([1n, -1n]);
    } finally {
      client.close();
    }
  });

  it('ModelStreamInfer: results and per-request errors in order on one stream', async () => {
    const client = new kserve.GRPCInferenceServiceClient(target, credentials.createInsecure());
    try {
      const stream: ClientDuplexStream<kserve.ModelInferRequest, kserve.ModelStreamInferResponse> = client.modelStreamInfer();
      const received = new Promise<kserve.ModelStreamInferResponse[]>((resolve, reject) => {
        const all: kserve.ModelStreamInferResponse[] = [];
        stream.on('data', (r: kserve.ModelStreamInferResponse) => all.push(r));
        stream.on('error', reject);
        stream.on('end', () => resolve(all));
      });
      stream.write(inferRequest(knownModel, 'a', [1]));
      stream.write(inferRequest('missing', 'b', [2]));
      stream.write(inferRequest(knownModel, 'c', [0.25, 10]));
      stream.end();
      const responses = await received;
      expect(responses.map((r) => [r.errorMessage, r.inferResponse?.id])).toEqual([
        ['', 'a'],
        ['unknown model missing', undefined],
        ['', 'c'],
      ]);
      expect(responses[0]?.inferResponse?.rawOutputContents[0]?.equals(fp32(2))).toBe(true);
      expect(responses[2]?.inferResponse?.rawOutputContents[0]?.equals(fp32(0.5, 20))).toBe(true);
    } finally {
      client.close();
    }
  });

  it('TF Serving Predict: map inputs and bigint versions survive the call', async () => {
    const client = new tfs.PredictionServiceClient(target, credentials.createInsecure());
    try {
      const res = await new Promise<tfs.PredictResponse>((resolve, reject) =>
        client.predict(
          tfs.PredictRequest.fromPartial({
            modelSpec: { name: 'adder', version: 7n },
            inputs: { x: { dtype: tf.DataType.DT_FLOAT, floatVal: [1.5, 2.25] } },
          }),
          (err, r) => (err ? reject(err) : resolve(r)),
        ),
      );
      expect(res.modelSpec?.version).toBe(7n);
      expect(res.outputs['sum']?.floatVal).toEqual([3.75]);
    } finally {
      client.close();
    }
  });
});
