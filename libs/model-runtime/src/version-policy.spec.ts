import { DEFAULT_VERSION_POLICY, formatVersionPolicy, parseVersionPolicy, selectVersions } from './version-policy';

describe('selectVersions', () => {
  const onDisk = [1, 3, 2, 7];

  it('serves only the highest version by default, as OVMS does', () => {
    expect(selectVersions(DEFAULT_VERSION_POLICY, onDisk)).toEqual([7]);
  });

  it('serves the newest num_versions with latest', () => {
    expect(selectVersions({ kind: 'latest', numVersions: 2 }, onDisk)).toEqual([7, 3]);
    expect(selectVersions({ kind: 'latest', numVersions: 10 }, onDisk)).toEqual([7, 3, 2, 1]);
  });

  it('serves only listed versions that exist with specific', () => {
    expect(selectVersions({ kind: 'specific', versions: [2, 5, 7] }, onDisk)).toEqual([7, 2]);
  });

  it('serves every version with all', () => {
    expect(selectVersions({ kind: 'all' }, onDisk)).toEqual([7, 3, 2, 1]);
  });

  it('serves nothing from an empty repository', () => {
    expect(selectVersions(DEFAULT_VERSION_POLICY, [])).toEqual([]);
  });
});

describe('parseVersionPolicy', () => {
  it('reads the three OVMS forms', () => {
    expect(parseVersionPolicy({ latest: { num_versions: 2 } })).toEqual({ kind: 'latest', numVersions: 2 });
    expect(parseVersionPolicy({ latest: {} })).toEqual({ kind: 'latest', numVersions: 1 });
    expect(parseVersionPolicy({ specific: { versions: [3, 1, 3] } })).toEqual({ kind: 'specific', versions: [1, 3] });
    expect(parseVersionPolicy({ all: {} })).toEqual({ kind: 'all' });
  });

  it('round-trips through formatVersionPolicy', () => {
    for (const json of [{ latest: { num_versions: 3 } }, { specific: { versions: [1, 4] } }, { all: {} }]) {
      const parsed = parseVersionPolicy(json);
      if (Array.isArray(parsed)) throw new Error(parsed.join('; '));
      expect(formatVersionPolicy(parsed)).toEqual(json);
    }
  });

  it.each([
    [{ newest: {} }, 'unknown kind "newest"'],
    [{ latest: { num_versions: 0 } }, 'latest.num_versions must be a positive integer, got 0'],
    [{ latest: { num_versions: 1 }, all: {} }, 'exactly one of'],
    [{ specific: { versions: [] } }, 'specific.versions must be a non-empty array'],
    [{ specific: { versions: [1.5] } }, 'specific.versions must be a non-empty array'],
    [{ all: { x: 1 } }, 'all takes no settings'],
    ['latest', 'must be an object'],
  ])('rejects %j naming the problem', (value, message) => {
    const parsed = parseVersionPolicy(value, 'policy');
    expect(Array.isArray(parsed)).toBe(true);
    expect((parsed as string[]).join('; ')).toContain(message);
  });
});
