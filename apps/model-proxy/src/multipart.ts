import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { bgError, type BgError } from '@bundlegate/service-kit';

/** One part of a multipart/form-data body. */
export type FormPart =
  | { readonly kind: 'file'; readonly name: string; readonly data: Buffer; readonly contentType: string }
  | { readonly kind: 'field'; readonly name: string; readonly data: string };

export interface MultipartLimits {
  /** Largest body accepted, in bytes (files and fields together). */
  readonly maxBytes: number;
  /** Most parts accepted; a model has few inputs, so a flood of parts is refused early. */
  readonly maxParts: number;
}

/** Reads a whole multipart/form-data body into parts by name; every malformed or oversized body is a 4xx. */
export function readMultipart(req: IncomingMessage, limits: MultipartLimits): Promise<Map<string, FormPart>> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: { fileSize: limits.maxBytes, fieldSize: limits.maxBytes, parts: limits.maxParts, files: limits.maxParts, fields: limits.maxParts },
      });
    } catch (error) {
      // busboy throws for a multipart content type without a boundary
      reject(bgError('BG_UNSUPPORTED_MEDIA_TYPE', { expected: 'multipart/form-data with a boundary, or application/json', got: req.headers['content-type'] }, { cause: error }));
      return;
    }
    const parts = new Map<string, FormPart>();
    let total = 0;
    let failed = false;
    const fail = (error: BgError): void => {
      if (failed) return;
      failed = true;
      req.unpipe(parser);
      // drain what is left so the client gets the answer instead of a reset connection
      req.resume();
      reject(error);
    };
    const add = (part: FormPart): void => {
      if (parts.has(part.name)) fail(bgError('BG_UNEXPECTED_INPUT', { field: part.name, expected: 'one part per input' }));
      else parts.set(part.name, part);
    };
    const count = (n: number): boolean => {
      total += n;
      if (total > limits.maxBytes) fail(bgError('BG_BODY_TOO_LARGE', { limit: limits.maxBytes }));
      return !failed;
    };
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => {
        if (count(chunk.byteLength)) chunks.push(chunk);
      });
      stream.on('limit', () => fail(bgError('BG_BODY_TOO_LARGE', { limit: limits.maxBytes })));
      stream.on('end', () => {
        if (!failed) add({ kind: 'file', name, data: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks), contentType: info.mimeType });
      });
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(bgError('BG_BODY_TOO_LARGE', { limit: limits.maxBytes }));
      if (count(Buffer.byteLength(value))) add({ kind: 'field', name, data: value });
    });
    const tooMany = (): void => fail(bgError('BG_INVALID_ARGUMENT', { field: 'body', expected: `at most ${limits.maxParts} multipart parts` }));
    parser.on('partsLimit', tooMany);
    parser.on('filesLimit', tooMany);
    parser.on('fieldsLimit', tooMany);
    parser.on('error', (error: unknown) =>
      fail(bgError('BG_INVALID_ARGUMENT', { field: 'body', expected: 'a well-formed multipart/form-data body', got: error instanceof Error ? error.message : String(error) }, { cause: error })),
    );
    parser.on('close', () => {
      if (!failed) resolve(parts);
    });
    req.on('error', (error) => fail(bgError('BG_INVALID_ARGUMENT', { field: 'body', expected: 'a complete request body' }, { cause: error })));
    req.pipe(parser);
  });
}
