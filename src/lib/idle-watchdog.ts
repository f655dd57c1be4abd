import type { Clock } from './clock.js';

export interface IdleWatchdog {
  /** Something was heard: the idle time starts over. Costs one assignment (it runs per watch event). */
  touch(): void;
  /** Stops the watchdog; `onIdle` is not called after this. */
  dispose(): void;
}

/**
 * Calls `onIdle` once when `idleMs` pass on `clock` without a `touch()`. One timer sleeps until the
 * earliest moment the deadline could pass and, on waking, sleeps again for what a touch meanwhile added:
 * a busy watch (thousands of events a second) costs no timer or signal per event.
 */
export function idleWatchdog(clock: Clock, idleMs: number, onIdle: () => void): IdleWatchdog {
  const stop = new AbortController();
  let last = clock.now();
  const run = async (): Promise<void> => {
    for (;;) {
      const left = last + idleMs - clock.now();
      if (left <= 0) {
        if (!stop.signal.aborted) onIdle();
        return;
      }
      try {
        await clock.sleep(left, stop.signal);
      } catch {
        return;
      }
    }
  };
  void run();
  return {
    touch: () => {
      last = clock.now();
    },
    dispose: () => {
      stop.abort();
    },
  };
}
