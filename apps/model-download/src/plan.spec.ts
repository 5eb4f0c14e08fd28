import type { Manifest, ManifestEntry } from './manifest';
import { planModel, sameObject, versionNeedsInstall, type LocalModel } from './plan';
import type { RemoteObject } from './storage';

const entry = (over: Partial<ManifestEntry> = {}): ManifestEntry => ({
  key: '1/model.onnx',
  size: 10,
  checksums: { md5: 'aa' },
  local: { size: 10, mtimeMs: 1000 },
  verifiedBy: 'md5',
  ...over,
});

const manifestOf = (files: Record<string, ManifestEntry>): Manifest => ({ format: 1, modelId: 'm', source: 's3://b/m/', updatedAt: '', files });

const localOf = (files: Record<string, [number, number]>): LocalModel => {
  const top = new Map<string, 'dir' | 'file' | 'other'>();
  for (const p of Object.keys(files)) top.set(p.split('/')[0] as string, p.includes('/') ? 'dir' : 'file');
  return { files: new Map(Object.entries(files).map(([p, [size, mtimeMs]]) => [p, { size, mtimeMs }])), top };
};

describe('sameObject', () => {
  it('compares sizes, then the first checksum both sides have, then ETags, then mtimes', () => {
    const listed = (over: Partial<RemoteObject>): RemoteObject => ({ key: '1/model.onnx', size: 10, checksums: {}, ...over });
    expect(sameObject(entry(), listed({ size: 11, checksums: { md5: 'aa' } }))).toEqual({ same: false, by: 'size' });
    expect(sameObject(entry(), listed({ checksums: { md5: 'AA' } }))).toEqual({ same: true, by: 'md5' });
    expect(sameObject(entry({ checksums: { crc32c: 'x', md5: 'aa' } }), listed({ checksums: { crc32c: 'y' } }))).toEqual({ same: false, by: 'crc32c' });
    expect(sameObject(entry({ checksums: { multipartEtag: 'ab-3' } }), listed({ checksums: { multipartEtag: 'ab-3' } }))).toEqual({ same: true, by: 'multipart-etag' });
    expect(sameObject(entry({ checksums: {}, mtimeMs: 5 }), listed({ mtimeMs: 5 }))).toEqual({ same: true, by: 'size+mtime' });
    // same size and nothing else in common: not a match, whatever the size says
    expect(sameObject(entry({ checksums: {} }), listed({}))).toBeUndefined();
  });
});

describe('planModel', () => {
  const remote: RemoteObject[] = [
    { key: '1/model.onnx', size: 10, checksums: { md5: 'aa' } },
    { key: '1/vocab.txt', size: 3, checksums: { md5: 'bb' } },
    { key: '2/model.onnx.enc', size: 50, checksums: { md5: 'cc' } },
    { key: 'config.pbtxt', size: 4, checksums: { md5: 'dd' } },
  ];

  it('keeps recorded files, checks unrecorded ones, fetches changed and new ones, and finds extras', () => {
    const plan = planModel({
      modelId: 'm',
      source: 's3://b/m/',
      remote,
      manifest: manifestOf({ '1/model.onnx': entry(), 'config.pbtxt': entry({ key: 'config.pbtxt', size: 4, checksums: { md5: 'old' }, local: { size: 4, mtimeMs: 7 } }) }),
      local: localOf({ '1/model.onnx': [10, 1000], '1/vocab.txt': [3, 1], '1/notes.md': [1, 1], 'config.pbtxt': [4, 7], 'README': [1, 1], '0/old.onnx': [1, 1] }),
    });
    const actions = Object.fromEntries([...plan.rootFiles, ...plan.versions.flatMap((v) => v.files)].map((f) => [f.localPath, [f.action, f.reason]]));
    expect(actions).toEqual({
      '1/model.onnx': ['keep', 'unchanged'],
      '1/vocab.txt': ['check', 'unrecorded'],
      '2/model.onnx': ['fetch', 'new'],
      'config.pbtxt': ['fetch', 'changed'],
    });
    expect(plan.versions.map((v) => [v.name, v.existsLocally, v.extras])).toEqual([
      ['1', true, ['1/notes.md']],
      ['2', false, []],
    ]);
    expect(plan.rootExtras).toEqual(['README']);
    expect(plan.staleVersions).toEqual(['0']);
    expect(plan.versions.find((v) => v.name === '2')?.files[0]?.decrypt).toBe(true);
  });

  it('refetches a file whose local copy was touched since it was recorded', () => {
    const plan = planModel({ modelId: 'm', source: 's', remote: remote.slice(0, 1), manifest: manifestOf({ '1/model.onnx': entry() }), local: localOf({ '1/model.onnx': [10, 2000] }) });
    expect(plan.versions[0]?.files[0]).toMatchObject({ action: 'fetch', reason: 'local-changed' });
  });

  it('installs a version only when something in it changes (or pruning drops extras)', () => {
    const v = { name: '1', existsLocally: true, files: [], extras: ['1/x'] };
    expect(versionNeedsInstall(v, false)).toBe(false);
    expect(versionNeedsInstall(v, true)).toBe(true);
    expect(versionNeedsInstall({ ...v, existsLocally: false }, false)).toBe(true);
  });

  it('rejects sources that cannot be laid out', () => {
    const both = [
      { key: '1/model.onnx', size: 1, checksums: {} },
      { key: '1/model.onnx.enc', size: 2, checksums: {} },
    ];
    expect(() => planModel({ modelId: 'm', source: 's', remote: both, manifest: undefined, local: localOf({}) })).toThrow(/would both become 1\/model\.onnx/);
    expect(() => planModel({ modelId: 'm', source: 's', remote: [{ key: '1/../../x', size: 1, checksums: {} }], manifest: undefined, local: localOf({}) })).toThrow(
      expect.objectContaining({ code: 'BG_UNSAFE_KEY' }),
    );
  });
});
