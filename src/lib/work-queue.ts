import { systemClock, type Clock } from './clock.js';

/** What processing a key asks for next: nothing, or another look after a delay (waiting on something). */
export type WorkResult = undefined | { readonly requeueAfterMs: number };

export interface WorkQueueOptions {
  /** Handles one key; throwing retries it with backoff. */
  readonly process: (key: string, signal: AbortSignal) => Promise<WorkResult>;
  /** Keys processed at once (never the same key twice at once). Default 4. */
  readonly concurrency?: number;
  /** First retry delay after a failure, doubling per consecutive failure of the key. Default 500 ms. */
  readonly baseDelayMs?: number;
  /** Longest retry delay. Default 60 s. */
  readonly maxDelayMs?: number;
  readonly onError?: (error: unknown, key: string, attempt: number) => void;
  /** Told about the queue's work, for metrics (client-go's workqueue metrics). */
  readonly observer?: WorkQueueObserver;
  /** Delays and backoffs run on this clock (default: the process's). */
  readonly clock?: Clock;
}

/** What a work queue reports as it goes; every method is cheap and must not throw. */
export interface WorkQueueObserver {
  /** A key was queued to run now (deduplicated adds are not counted). */
  added(): void;
  /** A key was processed, in `seconds`, with this outcome. */
  processed(seconds: number, outcome: 'done' | 'requeued' | 'failed'): void;
  /** A failed key was scheduled for a retry. */
  retried(): void;
  /** Keys waiting, delayed or in progress, after each change. */
  depth(keys: number): void;
}

/**
 * A controller work queue in the manner of client-go's: a key added many times is processed once, a key
 * is never processed by two workers at once (one added while in progress runs again afterwards), and a
 * failing key is retried with exponential backoff. Everything stops with the signal given to `run`.
 */
export class WorkQueue {
  private readonly ready: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  /** Keys added again while being processed. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Keys waiting for a due time, with the timer that queues them then. */
  private readonly timers = new Map<string, { due: number; cancel: AbortController }>();
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly clock: Clock;

  constructor(private readonly options: WorkQueueOptions) {
    this.clock = options.clock ?? systemClock;
  }

  /** Queues a key now, or after `delayMs`; a key already waiting keeps the earlier of the two due times. */
  add(key: string, delayMs = 0): void {
    if (this.stopped) return;
    if (delayMs > 0) {
      if (this.queued.has(key)) return;
      const due = this.clock.now() + delayMs;
      const waiting = this.timers.get(key);
      if (waiting && waiting.due <= due) return;
      waiting?.cancel.abort();
      const cancel = new AbortController();
      this.timers.set(key, { due, cancel });
      this.clock.sleep(delayMs, cancel.signal).then(
        () => {
          if (this.timers.get(key)?.cancel !== cancel) return;
          this.timers.delete(key);
          this.add(key);
        },
        () => undefined,
      );
      return;
    }
    const waiting = this.timers.get(key);
    if (waiting) {
      waiting.cancel.abort();
      this.timers.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.options.observer?.added();
    this.queued.add(key);
    this.ready.push(key);
    this.options.observer?.depth(this.length);
    this.wake?.();
  }

  /** Keys waiting or in progress (for tests and metrics). */
  get length(): number {
    return this.queued.size + this.active.size + this.timers.size;
  }

  /** Runs the workers until `signal` aborts, then waits for the keys in progress to finish. */
  async run(signal: AbortSignal): Promise<void> {
    const onAbort = (): void => {
      this.stopped = true;
      for (const waiting of this.timers.values()) waiting.cancel.abort();
      this.timers.clear();
      this.wake?.();
    };
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    const workers = Array.from({ length: this.options.concurrency ?? 4 }, () => this.worker(signal));
    await Promise.all(workers);
    signal.removeEventListener('abort', onAbort);
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped) {
      const key = this.ready.shift();
      if (key !== undefined) {
        this.queued.delete(key);
        return key;
      }
      await new Promise<void>((resolve) => {
        const previous = this.wake;
        this.wake = () => {
          this.wake = undefined;
          previous?.();
          resolve();
        };
      });
    }
    return undefined;
  }

  private async worker(signal: AbortSignal): Promise<void> {
    for (let key = await this.next(); key !== undefined; key = await this.next()) {
      this.active.add(key);
      const started = this.clock.now();
      const observe = (outcome: 'done' | 'requeued' | 'failed'): void =>
        this.options.observer?.processed((this.clock.now() - started) / 1000, outcome);
      try {
        const result = await this.options.process(key, signal);
        observe(result ? 'requeued' : 'done');
        this.failures.delete(key);
        if (result && !this.stopped) this.add(key, Math.max(1, result.requeueAfterMs));
      } catch (error) {
        observe('failed');
        if (this.stopped) break;
        const attempt = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, attempt);
        this.options.onError?.(error, key, attempt);
        this.options.observer?.retried();
        const base = this.options.baseDelayMs ?? 500;
        const delay = Math.min(base * 2 ** (attempt - 1), this.options.maxDelayMs ?? 60_000);
        this.add(key, delay);
      } finally {
        this.active.delete(key);
        if (this.dirty.delete(key)) this.add(key);
        this.options.observer?.depth(this.length);
      }
    }
  }
}
