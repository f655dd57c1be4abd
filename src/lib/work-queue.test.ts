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

  it('reports adds, outcomes and retries to its observer', async () => {
    const outcomes: string[] = [];
    let added = 0;
    let retried = 0;
    let calls = 0;
    const depths: number[] = [];
    const queue = new WorkQueue({
      baseDelayMs: 1,
      process: (key) => {
        calls++;
        if (key === 'bad' && calls < 3) return Promise.reject(new Error('no'));
        if (key === 'wait' && outcomes.filter((o) => o === 'requeued').length === 0)
          return Promise.resolve({ requeueAfterMs: 1 });
        return Promise.resolve(undefined);
      },
      observer: {
        added: () => added++,
        processed: (seconds, outcome) => {
          expect(seconds).toBeGreaterThanOrEqual(0);
          outcomes.push(outcome);
        },
        retried: () => retried++,
        depth: (keys) => depths.push(keys),
      },
    });
    const stop = new AbortController();
    const done = queue.run(stop.signal);
    queue.add('bad');
    queue.add('bad'); // deduplicated: not an add
    await waitFor('bad done', () => outcomes.includes('done'), { timeoutMs: 2000 });
    queue.add('wait');
    await waitFor('wait done', () => outcomes.filter((o) => o === 'done').length === 2, { timeoutMs: 2000 });
    expect(outcomes).toEqual(['failed', 'failed', 'done', 'requeued', 'done']);
    expect(retried).toBe(2);
    // bad, its two retries, wait, and its requeue
    expect(added).toBe(5);
    expect(depths.at(-1)).toBe(0);
    expect(Math.max(...depths)).toBeGreaterThan(0);
    stop.abort();
    await done;
  });

  it('keeps the earliest due time when a key is delayed twice', async () => {
    const seen: number[] = [];
    const started = performance.now();
    const queue = new WorkQueue({
      process: () => {
        seen.push(performance.now() - started);
        return Promise.resolve(undefined);
      },
    });
    const stop = new AbortController();
    const done = queue.run(stop.signal);
    queue.add('a', 60_000);
    queue.add('a', 20); // earlier: wins
    queue.add('a', 30_000); // later than the one waiting: ignored
    await waitFor('a ran', () => seen.length === 1, { timeoutMs: 2000 });
    expect(queue.length).toBe(0);
    stop.abort();
    await done;
  });
});
