import { describe, expect, it } from 'vitest';
import { WorkQueue } from './work-queue.js';
import { waitFor } from './wait.js';

describe('WorkQueue', () => {
  it('processes a key added many times once, and never one key twice at once', async () => {
    const seen: string[] = [];
    let running = 0;
    let maxRunning = 0;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const queue = new WorkQueue({
      process: async (key) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        seen.push(key);
        if (seen.length === 1) await gate;
        running--;
        return undefined;
      },
    });
    const stop = new AbortController();
    const done = queue.run(stop.signal);
    queue.add('a');
    await waitFor('a started', () => seen.length === 1, { timeoutMs: 2000 });
    queue.add('a'); // while in progress: runs again afterwards, once
    queue.add('a');
    release();
    await waitFor('a again', () => seen.length === 2, { timeoutMs: 2000 });
    await waitFor('idle', () => queue.length === 0, { timeoutMs: 2000 });
    expect(seen).toEqual(['a', 'a']);
    expect(maxRunning).toBe(1);
    stop.abort();
    await done;
  });

  it('retries a failing key with backoff until it succeeds, and honours requeue requests', async () => {
    const attempts: number[] = [];
    const errors: number[] = [];
    let requeued = 0;
    const queue = new WorkQueue({
      baseDelayMs: 5,
      process: (key) => {
        if (key === 'later') {
          requeued++;
          return Promise.resolve(requeued < 3 ? { requeueAfterMs: 5 } : undefined);
        }
        attempts.push(Date.now());
        if (attempts.length < 3) return Promise.reject(new Error('not yet'));
        return Promise.resolve(undefined);
      },
      onError: (_error, _key, attempt) => errors.push(attempt),
    });
    const stop = new AbortController();
    const done = queue.run(stop.signal);
    queue.add('flaky');
    queue.add('later');
    await waitFor('success', () => attempts.length === 3 && requeued === 3, { timeoutMs: 2000 });
    expect(errors).toEqual([1, 2]);
    stop.abort();
    await done;
    queue.add('after-stop');
    expect(queue.length).toBe(0);
  });
});
