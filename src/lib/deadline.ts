import type { Clock } from './clock.js';

/** A deadline passed: what a signal made by {@link deadlineSignal} aborts with. */
export class DeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TimeoutError';
  }
}

export interface Deadline {
  readonly signal: AbortSignal;
  /** Frees the timer and the listeners on the parents (the signal stays as it is). */
  dispose(): void;
}

/**
 * A signal that aborts when `ms` have passed on `clock` (with a {@link DeadlineError} saying `what`), or
 * as soon as one of `parents` aborts (with its reason). On an injected clock, tests move the deadline.
 */
export function deadlineSignal(
  clock: Clock,
  ms: number,
  parents: readonly (AbortSignal | undefined)[],
  what = `deadline of ${Math.round(ms)} ms passed`,
): Deadline {
  const controller = new AbortController();
  const timer = new AbortController();
  const listeners: (() => void)[] = [];
  const dispose = (): void => {
    timer.abort();
    for (const remove of listeners) remove();
    listeners.length = 0;
  };
  for (const parent of parents) {
    if (!parent) continue;
    if (parent.aborted) {
      controller.abort(parent.reason);
      break;
    }
    const onAbort = (): void => {
      controller.abort(parent.reason);
      dispose();
    };
    parent.addEventListener('abort', onAbort, { once: true });
    listeners.push(() => parent.removeEventListener('abort', onAbort));
  }
  if (controller.signal.aborted) {
    dispose();
  } else if (ms <= 0) {
    controller.abort(new DeadlineError(what));
    dispose();
  } else {
    clock.sleep(ms, timer.signal).then(
      () => {
        controller.abort(new DeadlineError(what));
        dispose();
      },
      () => undefined,
    );
  }
  return { signal: controller.signal, dispose };
}

/** Resolves `true` when `work` settles within `ms` on `clock`, `false` when the time ran out first. */
export async function settlesWithin(clock: Clock, ms: number, work: Promise<unknown>): Promise<boolean> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      clock.sleep(Math.max(0, ms), timer.signal).then(
        () => false,
        () => false,
      ),
    ]);
  } finally {
    timer.abort();
  }
}
