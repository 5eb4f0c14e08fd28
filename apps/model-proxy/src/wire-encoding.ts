import { bgv1, kserve, tf, tfs } from '@bundlegate/protos';

// Message serializers that copy tensor bytes exactly once. The generated encoders copy a 600 KB image tensor three
// times (into the writer, on finish(), and into a Buffer); here the message is assembled as a list of chunks whose
// sizes are known, then copied once into a single Buffer that grpc-js frames.

type Chunk = Uint8Array;

const WIRE_LEN = 2;
const EMPTY = Buffer.alloc(0);

function varint(value: number): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Uint8Array.from(out);
}

function byteLength(chunks: readonly Chunk[]): number {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
}

/** A length-delimited field: tag, length, then the chunks of its body. */
function lengthDelimited(field: number, body: readonly Chunk[]): Chunk[] {
  return [varint((field << 3) | WIRE_LEN), varint(byteLength(body)), ...body];
}

/**
 * A message whose one large bytes field goes last, uncopied: `head` is the message encoded with that field empty
 * (so left out, as proto3 leaves out empty fields), then the field itself when it has bytes.
 */
function withBytesField(head: Chunk, field: number, bytes: Chunk): Chunk[] {
  return bytes.byteLength > 0 ? [head, ...lengthDelimited(field, [bytes])] : [head];
}

function join(chunks: readonly Chunk[]): Buffer {
  const out = Buffer.allocUnsafe(byteLength(chunks));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

const RAW_INPUT_CONTENTS_FIELD = 7;

/** `inference.ModelInferRequest` → wire bytes; `rawInputContents` are appended without intermediate copies. */
export function serializeModelInferRequest(request: kserve.ModelInferRequest): Buffer {
  const head = kserve.ModelInferRequest.encode({ ...request, rawInputContents: [] }).finish();
  const chunks: Chunk[] = [head];
  for (const raw of request.rawInputContents) chunks.push(...lengthDelimited(RAW_INPUT_CONTENTS_FIELD, [raw]));
  return join(chunks);
}

const PREDICT_INPUTS_FIELD = 2;
const MAP_KEY_FIELD = 1;
const MAP_VALUE_FIELD = 2;
const TENSOR_CONTENT_FIELD = 4;
const utf8 = new TextEncoder();

/** `tensorflow.serving.PredictRequest` → wire bytes; each input's `tensorContent` is copied once. */
export function serializePredictRequest(request: tfs.PredictRequest): Buffer {
  const head = tfs.PredictRequest.encode({ ...request, inputs: {} }).finish();
  const chunks: Chunk[] = [head];
  for (const [name, proto] of Object.entries(request.inputs)) {
    const tensor = withBytesField(tf.TensorProto.encode({ ...proto, tensorContent: EMPTY }).finish(), TENSOR_CONTENT_FIELD, proto.tensorContent);
    const entry = [...lengthDelimited(MAP_KEY_FIELD, [utf8.encode(name)]), ...lengthDelimited(MAP_VALUE_FIELD, tensor)];
    chunks.push(...lengthDelimited(PREDICT_INPUTS_FIELD, entry));
  }
  return join(chunks);
}

const RESPONSE_OUTPUTS_FIELD = 2;
const OUTPUT_EMBEDDING_GRID_FIELD = 4;
const OUTPUT_TENSOR_FIELD = 5;
const GRID_DATA_FIELD = 4;
const TENSOR_DATA_FIELD = 3;

/** One bgv1.Output: its small fields by the generated encoder, the grid or tensor bytes appended as they are. */
function outputChunks(output: bgv1.Output): Chunk[] {
  const { embeddingGrid, tensor, ...rest } = output;
  const chunks: Chunk[] = [bgv1.Output.encode(rest).finish()];
  if (embeddingGrid !== undefined) {
    const grid = withBytesField(bgv1.EmbeddingGrid.encode({ ...embeddingGrid, data: EMPTY }).finish(), GRID_DATA_FIELD, embeddingGrid.data);
    chunks.push(...lengthDelimited(OUTPUT_EMBEDDING_GRID_FIELD, grid));
  } else if (tensor !== undefined) {
    const body = withBytesField(bgv1.Tensor.encode({ ...tensor, data: EMPTY }).finish(), TENSOR_DATA_FIELD, tensor.data);
    chunks.push(...lengthDelimited(OUTPUT_TENSOR_FIELD, body));
  }
  return chunks;
}

/** `bundlegate.v1.PredictResponse` → wire bytes; grid and tensor data are copied once. */
export function serializePredictResponse(response: bgv1.PredictResponse): Buffer {
  const chunks: Chunk[] = [bgv1.PredictResponse.encode({ ...response, outputs: [] }).finish()];
  for (const output of response.outputs) chunks.push(...lengthDelimited(RESPONSE_OUTPUTS_FIELD, outputChunks(output)));
  return join(chunks);
}
