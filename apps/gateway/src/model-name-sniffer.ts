// Reads the model name from the first bytes of a request body without decoding the message:
// KServe ModelInferRequest.model_name is field 1 (string); TF Serving PredictRequest.model_spec is
// field 1 (ModelSpec) whose name is field 1 (string). Encoders write fields in number order, so the
// name is normally in the first few dozen bytes, but any field order is handled.

export const SNIFFABLE_PATHS: ReadonlyMap<string, 'kserve' | 'tfs'> = new Map([
  ['/inference.GRPCInferenceService/ModelInfer', 'kserve'],
  ['/inference.GRPCInferenceService/ModelStreamInfer', 'kserve'],
  ['/tensorflow.serving.PredictionService/Predict', 'tfs'],
  ['/tensorflow.serving.PredictionService/Classify', 'tfs'],
  ['/tensorflow.serving.PredictionService/Regress', 'tfs'],
  ['/tensorflow.serving.PredictionService/GetModelMetadata', 'tfs'],
  ['/tensorflow.serving.ModelService/GetModelStatus', 'tfs'],
]);

/** More bytes are needed to decide. */
export const NEED_MORE = Symbol('need-more');

/** Gives up: compressed, malformed, or no name before `maxBytes`. */
export const NO_NAME = Symbol('no-name');

export type SniffResult = string | typeof NEED_MORE | typeof NO_NAME;

interface Cursor {
  pos: number;
}

/** Varint at cursor; -1 when the bytes end first, -2 when it is longer than 2^53 allows. */
function readVarint(buf: Uint8Array, end: number, at: Cursor): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (at.pos >= end) return -1;
    const byte = buf[at.pos++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 128;
  }
  return -2;
}

/** Finds field 1 (length-delimited) in buf[start, end); `nested` descends into it once more. */
function findField1(buf: Uint8Array, start: number, end: number, complete: boolean, nested: boolean): SniffResult {
  const at: Cursor = { pos: start };
  while (at.pos < end) {
    const tag = readVarint(buf, end, at);
    if (tag === -1) return complete ? NO_NAME : NEED_MORE;
    if (tag < 0) return NO_NAME;
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    let skip: number;
    if (wireType === 0) {
      const v = readVarint(buf, end, at);
      if (v === -1) return complete ? NO_NAME : NEED_MORE;
      if (v < 0) return NO_NAME;
      continue;
    } else if (wireType === 1) {
      skip = 8;
    } else if (wireType === 5) {
      skip = 4;
    } else if (wireType === 2) {
      const length = readVarint(buf, end, at);
      if (length === -1) return complete ? NO_NAME : NEED_MORE;
      if (length < 0) return NO_NAME;
      if (field === 1) {
        if (at.pos + length > end) return complete ? NO_NAME : NEED_MORE;
        if (nested) return findField1(buf, at.pos, at.pos + length, true, false);
        return Buffer.from(buf.buffer, buf.byteOffset + at.pos, length).toString('utf8');
      }
      skip = length;
    } else {
      return NO_NAME;
    }
    if (at.pos + skip > end) return complete ? NO_NAME : NEED_MORE;
    at.pos += skip;
  }
  return complete ? NO_NAME : NEED_MORE;
}

/**
 * The model name in the first request message of a sniffable call. `body` is every byte seen so far;
 * NEED_MORE asks for more (callers cap how much they hold).
 */
export function sniffModelName(kind: 'kserve' | 'tfs', body: Uint8Array, maxBytes = 64 * 1024): SniffResult {
  if (body.length < 5) return body.length >= maxBytes ? NO_NAME : NEED_MORE;
  if (body[0] !== 0) return NO_NAME;
  const messageLength = ((body[1] as number) * 2 ** 24) + ((body[2] as number) << 16) + ((body[3] as number) << 8) + (body[4] as number);
  const end = Math.min(body.length, 5 + messageLength);
  const complete = end === 5 + messageLength;
  const found = findField1(body, 5, end, complete, kind === 'tfs');
  if (found === NEED_MORE && body.length >= maxBytes) return NO_NAME;
  if (typeof found === 'string' && found.length === 0) return NO_NAME;
  return found;
}
