// Strict base64 for image inputs: Buffer.from(text, 'base64') silently skips bad characters, which would turn a
// typo into an undecodable-image error far from its cause.

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL_BODY = /^[A-Za-z0-9_-]*={0,2}$/;
const DATA_URL = /^data:([^,]*?);base64,/i;
const WHITESPACE = /[\r\n\t ]/;
const WHITESPACE_ALL = /[\r\n\t ]+/g;

/**
 * Standard or URL-safe base64 (padding optional, line breaks allowed), or a `data:<type>;base64,` URL → bytes;
 * undefined when the text is not valid base64 or decodes to nothing.
 */
export function decodeBase64(text: string): Buffer | undefined {
  let body = text;
  const dataUrl = DATA_URL.exec(body);
  if (dataUrl !== null) body = body.slice(dataUrl[0].length);
  // MIME-style line breaks are common in pasted base64
  if (WHITESPACE.test(body)) body = body.replace(WHITESPACE_ALL, '');
  if (body.length === 0 || body.length % 4 === 1) return undefined;
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  if (padding > 0 && body.length % 4 !== 0) return undefined;
  const standard = BASE64_BODY.test(body);
  if (!standard && !BASE64URL_BODY.test(body)) return undefined;
  const bytes = Buffer.from(body, standard ? 'base64' : 'base64url');
  return bytes.byteLength === 0 ? undefined : bytes;
}
