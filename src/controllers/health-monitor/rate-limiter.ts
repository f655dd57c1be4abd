import { setTimeout as sleep } from 'node:timers/promises';

/**
 * At most `count` actions in any `windowMs` (Stork's reference: 5 pods per 30 s), shared by every node
 * being drained, so several nodes failing at once do not multiply the rate.
 */
export class SlidingWindowLimiter {
  private readonly recent: number[] = [];

  constructor(
    private readonly count: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`batch size must be a positive integer, got ${count}`);
    if (!(windowMs >= 0)) throw new RangeError(`batch interval must be >= 0 ms, got ${windowMs}`);
  }

  /** How long until one more action is allowed (0: now). */
  waitMs(): number {
    const now = this.now();
    while (this.recent.length > 0 && now - (this.recent[0] ?? 0) >= this.windowMs) this.recent.shift();
    if (this.recent.length < this.count) return 0;
    return (this.recent[0] ?? now) + this.windowMs - now;
  }

  /** Waits for a slot and takes it; rejects if `signal` aborts first. */
  async take(signal?: AbortSignal): Promise<void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) {
      await sleep(wait, undefined, signal ? { signal } : undefined);
    }
    this.recent.push(this.now());
  }
}
