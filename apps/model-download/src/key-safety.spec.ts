import fc from 'fast-check';
import { join, relative, resolve } from 'node:path';
import { checkModelId, isSafeKey, keySegments, safeJoin } from './key-safety';

describe('keySegments', () => {
  it('accepts ordinary model keys', () => {
    expect(keySegments('1/model.onnx')).toEqual(['1', 'model.onnx']);
    expect(keySegments('config.pbtxt')).toEqual(['config.pbtxt']);
    expect(keySegments('2/variables/variables.data-00000-of-00001')).toEqual(['2', 'variables', 'variables.data-00000-of-00001']);
    expect(keySegments('1/a b+c(1).bin')).toEqual(['1', 'a b+c(1).bin']);
    expect(keySegments('1/modèle.onnx')).toEqual(['1', 'modèle.onnx']);
  });

  it.each([
    ['parent segment', '../etc/passwd'],
    ['parent in the middle', '1/../../x'],
    ['trailing parent', '1/..'],
    ['dot segment', '1/./model.onnx'],
    ['absolute', '/etc/passwd'],
    ['empty', ''],
    ['empty segment', '1//model.onnx'],
    ['directory marker', '1/'],
    ['backslash', '1\\..\\..\\x'],
    ['percent-encoded dots', '%2e%2e/x'],
    ['percent-encoded slash', '1%2f..%2fx'],
    ['percent-encoded backslash', '..%5cx'],
    ['NUL', '1/model\u0000.onnx'],
    ['newline', '1/mo\ndel'],
    ['fullwidth dots', '\uff0e\uff0e/x'],
    ['fraction slash', '..\u2044x'],
    ['lone surrogate', '1/\ud800.bin'],
    ['not NFC', '1/mode\u0300le.onnx'],
    ['overlong segment', `1/${'a'.repeat(256)}`],
  ])('rejects %s', (_what, key) => {
    expect(() => keySegments(key)).toThrow(expect.objectContaining({ code: 'BG_UNSAFE_KEY' }));
  });

  it('never yields a path outside the root, whatever the key', () => {
    const root = resolve('/srv/models/m1');
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom('..', '.', '', '/', '\\', '%2e', 'a', '\uff0e'), fc.string()), { maxLength: 6 }), (parts) => {
        const key = parts.join('/');
        if (!isSafeKey(key)) return;
        const rel = relative(root, safeJoin(root, key));
        expect(rel.startsWith('..')).toBe(false);
        expect(join(root, rel)).toBe(safeJoin(root, key));
      }),
    );
  });
});

describe('checkModelId', () => {
  it('accepts bundle ids and rejects paths and hidden names', () => {
    expect(checkModelId('6687ad3b04248f708c1e0c95')).toBe('6687ad3b04248f708c1e0c95');
    for (const bad of ['a/b', '..', '.staging', '', 'x\\y']) {
      expect(() => checkModelId(bad)).toThrow(expect.objectContaining({ code: 'BG_UNSAFE_KEY' }));
    }
  });
});
