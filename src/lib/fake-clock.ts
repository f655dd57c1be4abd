import type { Clock } from './clock.js';

interface Sleeper {
  readonly due: number;
  readonly order: number;
  readonly resolve: () => void;
}

/**
 * A clock for unit tests: time moves only when the test calls `advance` (or `jumpWall`, for the wall clock
 * alone). Sleepers due at or before the new time resolve in due order; `advance` lets their continuations
 * run (microtasks and one macrotask turn) before moving on, so code that sleeps in a loop sees each step.
 */
export class FakeClock implements Clock {
  private monotonic: number;
  private wall: number;
  private sleepers: Sleeper[] = [];
  private order = 0;

  constructor(start: { monotonic?: number; wall?: number } = {}) {
    this.monotonic = start.monotonic ?? 1_000;
    this.wall = start.wall ?? Date.parse('2026-01-01T00:00:00Z');
  }

  now(): number {
    return this.monotonic;
  }

  wallNow(): number {
    return this.wall;
  }

  /** How many sleeps are waiting (tests use it to know a loop has reached its pause). */
  get pending(): number {
    return this.sleepers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<void>((resolve, reject) => {
      const sleeper: Sleeper = {
        due: this.monotonic + Math.max(0, ms),
        order: this.order++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        reject(signal?.reason as Error);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** Moves both clocks forward by `ms`, waking sleepers one due time at a time. */
  async advance(ms: number): Promise<void> {
    const target = this.monotonic + ms;
    for (;;) {
      await settle();
      const next = this.sleepers
        .filter((s) => s.due <= target)
        .sort((a, b) => a.due - b.due || a.order - b.order)[0];
      if (!next) break;
      this.wall += next.due - this.monotonic;
      this.monotonic = next.due;
      this.sleepers = this.sleepers.filter((s) => s !== next);
      next.resolve();
    }
    this.wall += target - this.monotonic;
    this.monotonic = target;
    await settle();
  }

  /** Sets the wall clock forward or back without moving monotonic time (an NTP step, a VM resume). */
  jumpWall(ms: number): void {
    this.wall += ms;
  }
}

/** Lets pending promise continuations and one macrotask turn run. */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}
