/** A round of work run now on demand and again every interval, never two at once. */
export interface PeriodicRound {
  /** Runs a round now, or joins the one in flight. Rejects with that round's error. */
  readonly run: () => Promise<void>;
  /** No round starts after this; resolves once the one in flight (if any) has ended. */
  readonly stop: () => Promise<void>;
}

/**
 * Runs `round` every `intervalMs` after the previous one ended, one at a time (a call to `run` while one
 * is in flight joins it). A failed round goes to `onError` and the next one still comes: the certificate
 * rotations of the webhook and of the extender are each one of these.
 */
export function periodicRound(
  round: () => Promise<void>,
  options: { readonly intervalMs: number; readonly onError: (error: unknown) => void },
): PeriodicRound {
  let running: Promise<void> | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const run = (): Promise<void> => {
    running ??= round().finally(() => {
      running = undefined;
    });
    return running;
  };
  const schedule = (): void => {
    if (stopped) return;
    timer = setTimeout(() => {
      run().then(schedule, (error: unknown) => {
        options.onError(error);
        schedule();
      });
    }, options.intervalMs);
  };
  schedule();
  return {
    run,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
