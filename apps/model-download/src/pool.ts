/**
 * Caps how many transfers (whole objects or ranges of one) run at once across every model. Waiting
 * tasks start by priority (higher first, then in arrival order): large objects first, so the
 * run does not end on one big file streaming alone.
 */
export class TransferPool {
  private active = 0;
  private readonly waiting: { priority: number; wake: () => void }[] = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`pool size must be a positive integer, got ${size}`);
  }

  async run<T>(task: () => Promise<T>, priority = 0): Promise<T> {
    if (this.active >= this.size) {
      await new Promise<void>((wake) => {
        // stable: after every waiter of the same or higher priority
        let i = this.waiting.length;
        while (i > 0 && (this.waiting[i - 1] as { priority: number }).priority < priority) i--;
        this.waiting.splice(i, 0, { priority, wake });
      });
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      // hand the slot straight to the next waiter, or free it
      const next = this.waiting.shift();
      if (next) next.wake();
      else this.active--;
    }
  }
}
