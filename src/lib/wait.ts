import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
}

/** Raised when a condition did not become true in time; says what was awaited and the last failure. */
export class WaitTimeoutError extends Error {
  constructor(what: string, timeoutMs: number, options?: ErrorOptions) {
    const last = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`timed out after ${timeoutMs} ms waiting for ${what}${last}`, options);
    this.name = 'WaitTimeoutError';
  }
}

/**
 * Polls `probe` until it returns a value other than undefined/false, and returns that value. A probe that
 * throws counts as "not yet"; its last error becomes the timeout's cause.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new WaitTimeoutError(
        what,
        options.timeoutMs,
        lastError === undefined ? undefined : { cause: lastError },
      );
    }
    await sleep(
      options.intervalMs ?? 200,
      undefined,
      options.signal ? { signal: options.signal } : undefined,
    );
  }
}
