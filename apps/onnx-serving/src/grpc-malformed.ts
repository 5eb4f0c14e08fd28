import type { ServiceDefinition } from '@grpc/grpc-js';
import { bgError, type BgError } from '@bundlegate/service-kit';

// grpc-js answers a request that fails to deserialize with INTERNAL, a server error. A message that is not valid
// protobuf is the client's mistake: deserializers here hand a marker to the handler, which refuses it with
// INVALID_ARGUMENT through the same error converter as every other bad input.

const MALFORMED = Symbol('malformed request');

export interface Malformed {
  readonly [MALFORMED]: string;
}

export function isMalformed(value: unknown): value is Malformed {
  return typeof value === 'object' && value !== null && MALFORMED in value;
}

export function malformedError(value: Malformed): BgError {
  return bgError(
    'BG_INVALID_ARGUMENT',
    { field: 'request', expected: 'a protobuf message of the method\'s request type' },
    { message: `the request is not a valid protobuf message: ${value[MALFORMED]}` },
  );
}

/** The same service definition whose request deserializers return a Malformed marker instead of throwing. */
export function tolerantService<D extends ServiceDefinition>(definition: D): D {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    const deserialize = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer): unknown => {
        try {
          return deserialize(bytes);
        } catch (err) {
          return { [MALFORMED]: err instanceof Error ? err.message : String(err) } satisfies Malformed;
        }
      },
    };
  }
  return out as D;
}
