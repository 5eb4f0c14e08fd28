import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { kserve } from '@bundlegate/protos';

// KServe messages (de)serialized without copying tensor bytes: the generated decoder copies every
// `bytes` field and the generated encoder copies raw contents twice, which for a 600 KB image tensor
// costs more than the rest of the request. Everything except the raw contents still goes through the
// generated code.

/** `ModelInferRequest.raw_input_contents`. */
const RAW_INPUT_CONTENTS = 7;
/** `ModelInferResponse.raw_output_contents`. */
const RAW_OUTPUT_CONTENTS = 6;
/** `ModelStreamInferResponse.infer_response`. */
const STREAM_INFER_RESPONSE = 2;

const asBuffer = (b: Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

/**
 * Decodes a ModelInferRequest whose `rawInputContents` are views into `bytes` (no copy); the other fields,
 * small by nature, are decoded by the generated code. Throws on malformed protobuf.
 */
export function decodeModelInferRequest(bytes: Uint8Array): kserve.ModelInferRequest {
  const reader = new BinaryReader(bytes);
  const raw: Buffer[] = [];
  const rest: [number, number][] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === RAW_INPUT_CONTENTS && wireType === WireType.LengthDelimited) {
      raw.push(asBuffer(reader.bytes()));
      continue;
    }
    reader.skip(wireType, fieldNo);
    const last = rest[rest.length - 1];
    if (last !== undefined && last[1] === start) last[1] = reader.pos;
    else rest.push([start, reader.pos]);
  }
  const others =
    rest.length === 1
      ? bytes.subarray((rest[0] as [number, number])[0], (rest[0] as [number, number])[1])
      : Buffer.concat(rest.map(([s, e]) => bytes.subarray(s, e)));
  const message = kserve.ModelInferRequest.decode(others);
  message.rawInputContents = raw;
  return message;
}

/** Tag + length prefix of one length-delimited field. */
function fieldHeader(fieldNo: number, length: number): Uint8Array {
  return new BinaryWriter().tag(fieldNo, WireType.LengthDelimited).uint32(length).finish();
}

/** The encoded response as parts (header fields, then each raw output with its field header), and their total size. */
function responseParts(message: kserve.ModelInferResponse): { parts: Uint8Array[]; length: number } {
  const head = kserve.ModelInferResponse.encode({ ...message, rawOutputContents: [] }).finish();
  const parts: Uint8Array[] = [head];
  let length = head.byteLength;
  for (const raw of message.rawOutputContents) {
    const header = fieldHeader(RAW_OUTPUT_CONTENTS, raw.byteLength);
    parts.push(header, raw);
    length += header.byteLength + raw.byteLength;
  }
  return { parts, length };
}

/** Encodes a ModelInferResponse copying each raw output once (into the message buffer). */
export function encodeModelInferResponse(message: kserve.ModelInferResponse): Buffer {
  const { parts, length } = responseParts(message);
  return Buffer.concat(parts, length);
}

/** Encodes a ModelStreamInferResponse the same way. */
export function encodeModelStreamInferResponse(message: kserve.ModelStreamInferResponse): Buffer {
  const head = kserve.ModelStreamInferResponse.encode({ errorMessage: message.errorMessage, inferResponse: undefined }).finish();
  if (message.inferResponse === undefined) return asBuffer(head);
  const inner = responseParts(message.inferResponse);
  const header = fieldHeader(STREAM_INFER_RESPONSE, inner.length);
  return Buffer.concat([head, header, ...inner.parts], head.byteLength + header.byteLength + inner.length);
}

/** The KServe service definition with the copy-free (de)serializers on the two inference methods. */
export const kserveServiceDefinition = {
  ...kserve.GRPCInferenceServiceService,
  modelInfer: {
    ...kserve.GRPCInferenceServiceService.modelInfer,
    requestDeserialize: (value: Buffer): kserve.ModelInferRequest => decodeModelInferRequest(value),
    responseSerialize: (value: kserve.ModelInferResponse): Buffer => encodeModelInferResponse(value),
  },
  modelStreamInfer: {
    ...kserve.GRPCInferenceServiceService.modelStreamInfer,
    requestDeserialize: (value: Buffer): kserve.ModelInferRequest => decodeModelInferRequest(value),
    responseSerialize: (value: kserve.ModelStreamInferResponse): Buffer => encodeModelStreamInferResponse(value),
  },
} as const;
