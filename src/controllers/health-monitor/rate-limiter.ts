import type { Clock } from '../../lib/clock.js';

/** A slot taken from a {@link SlidingWindowLimiter}; `release` gives it back (the action did not happen). */
export interface Slot {
  release(): void;
}

/**
 * At most `count` actions in any `windowMs` (Stork's reference: 5 pods per 30 s), shared by every node
 * being drained, so several nodes failing at once do not multiply the rate. Never sleeps: `tryTake`
 * answers at once with a slot or how long to wait, so a reconciler can return "look again then".
 */
export class SlidingWindowLimiter {
  private recent: { at: number }[] = [];

  constructor(
    private readonly count: number,
    private readonly windowMs: number,
    private readonly clock: Pick<Clock, 'now'>,
  ) {
    if (!Number.isInteger(count) || count < 1)
      throw new RangeError(`batch size must be a positive integer, got ${count}`);
    if (!(windowMs >= 0)) throw new RangeError(`batch interval must be >= 0 ms, got ${windowMs}`);
  }

  /** How long until one more action is allowed (0: now). */
  waitMs(): number {
    const now = this.clock.now();
    this.recent = this.recent.filter((s) => now - s.at < this.windowMs);
    if (this.recent.length < this.count) return 0;
    return (this.recent[0]?.at ?? now) + this.windowMs - now;
  }

  /** A slot now, or how long until one is free. */
  tryTake(): Slot | { waitMs: number } {
    const waitMs = this.waitMs();
    if (waitMs > 0) return { waitMs };
    const entry = { at: this.clock.now() };
    this.recent.push(entry);
    return {
      release: () => {
        this.recent = this.recent.filter((s) => s !== entry);
      },
    };
  }
}
