import { HealthState, type HealthSnapshot } from './health';

describe('HealthState', () => {
  it('is not ready until every declared check passes', () => {
    const h = new HealthState({ checks: ['models', 'upstream'] });
    expect(h.snapshot()).toEqual({
      live: true,
      ready: false,
      shuttingDown: false,
      checks: { models: { ready: false, reason: 'starting' }, upstream: { ready: false, reason: 'starting' } },
    });
    h.setReady('models', true);
    expect(h.isReady()).toBe(false);
    h.setReady('upstream', true);
    expect(h.isReady()).toBe(true);
    h.setReady('upstream', false, 'no healthy endpoint for m1');
    expect(h.snapshot().checks.upstream).toEqual({ ready: false, reason: 'no healthy endpoint for m1' });
    expect(h.isReady()).toBe(false);
  });

  it('answers for a subset of checks; an unknown check fails', () => {
    const h = new HealthState();
    h.setReady('model:a', true);
    h.setReady('model:b', false, 'loading');
    expect(h.isReady(['model:a'])).toBe(true);
    expect(h.isReady(['model:a', 'model:b'])).toBe(false);
    expect(h.isReady(['model:c'])).toBe(false);
    h.removeCheck('model:b');
    expect(h.isReady()).toBe(true);
  });

  it('is not ready when not live or shutting down, whatever the checks', () => {
    const h = new HealthState();
    expect(h.isReady()).toBe(true);
    h.setLive(false, 'event loop stuck');
    expect(h.snapshot()).toMatchObject({ live: false, ready: false, reason: 'event loop stuck' });
    h.setLive(true);
    h.markShuttingDown();
    expect(h.snapshot()).toMatchObject({ live: true, ready: false, shuttingDown: true, reason: 'shutting down' });
    expect(h.isReady([])).toBe(false);
  });

  it('tells listeners about changes only, and stops when unsubscribed', () => {
    const h = new HealthState({ checks: ['models'] });
    const seen: boolean[] = [];
    const off = h.onChange((s: HealthSnapshot) => seen.push(s.ready));
    h.setReady('models', true);
    h.setReady('models', true);
    h.setReady('models', false, 'reloading');
    h.setReady('models', false, 'reloading');
    h.markShuttingDown();
    off();
    h.setReady('models', true);
    expect(seen).toEqual([true, false, false]);
  });

  it('still notifies every listener when one throws, then rethrows', () => {
    const h = new HealthState();
    const seen: string[] = [];
    h.onChange(() => {
      throw new Error('listener bug');
    });
    h.onChange(() => seen.push('second'));
    expect(() => h.setReady('x', false)).toThrow('listener bug');
    expect(seen).toEqual(['second']);
  });
});
