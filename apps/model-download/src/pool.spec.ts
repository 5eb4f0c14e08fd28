import { TransferPool } from './pool';

describe('TransferPool', () => {
  it('never runs more tasks than its size and runs them all', async () => {
    const pool = new TransferPool(3);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        pool.run(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, (i % 4) + 1));
          running--;
          return i * 2;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));
  });

  it('frees the slot of a failed task', async () => {
    const pool = new TransferPool(1);
    await expect(pool.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(pool.run(async () => 'next')).resolves.toBe('next');
  });

  it('starts waiting tasks by priority, then in arrival order', async () => {
    const pool = new TransferPool(1);
    const order: string[] = [];
    let release: () => void = () => undefined;
    const blocker = pool.run(() => new Promise<void>((r) => (release = r)));
    const tasks = [
      pool.run(async () => void order.push('small-a'), 10),
      pool.run(async () => void order.push('big'), 1000),
      pool.run(async () => void order.push('small-b'), 10),
      pool.run(async () => void order.push('mid'), 500),
    ];
    release();
    await Promise.all([blocker, ...tasks]);
    expect(order).toEqual(['big', 'mid', 'small-a', 'small-b']);
  });
});
