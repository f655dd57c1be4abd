import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Time as stateful parts see it, injected so unit tests can drive it. `now()` is monotonic (durations,
 * deadlines, grace periods: it never jumps when the wall clock is set); `wallNow()` is the wall clock, only
 * for what is written into objects (timestamps users read) or compared with times other hosts wrote.
 */
export interface Clock {
  /** Milliseconds on a monotonic clock with an arbitrary origin. */
  now(): number;
  /** Milliseconds since the Unix epoch. */
  wallNow(): number;
  /** Resolves after `ms` on this clock; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The process's clocks: `performance.now()` and `Date.now()`. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, signal ? { signal } : {}),
};
