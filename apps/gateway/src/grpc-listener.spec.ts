import { validRequestFields } from './grpc-listener';

const base = [':method', 'POST', ':scheme', 'http', ':path', '/a.B/C', ':authority', 'gw'];

test('well-formed gRPC request fields pass', () => {
  expect(validRequestFields([...base, 'content-type', 'application/grpc', 'te', 'trailers', 'model-id', 'm1', 'x-bin', 'AAEC/w=='])).toBe(true);
});

test.each([
  ['an uppercase name', [...base, 'Model-Id', 'm1']],
  ['a CR/LF in a value', [...base, 'x-a', 'b\r\nx-evil: 1']],
  ['a NUL in a value', [...base, 'x-a', 'b\0']],
  ['a pseudo-header after a regular one', [':method', 'POST', 'x-a', 'b', ':path', '/x']],
  ['an unknown pseudo-header', [...base, ':protocol', 'websocket']],
  ['a repeated pseudo-header', [...base, ':path', '/again']],
  ['no :path', [':method', 'POST', ':scheme', 'http']],
  ['a space in a name', [...base, 'x a', 'b']],
])('rejects %s', (_what, fields) => expect(validRequestFields(fields)).toBe(false));
