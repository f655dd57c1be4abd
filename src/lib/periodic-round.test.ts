import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { periodicRound } from './periodic-round.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('periodicRound', () => {
  it('runs a round every interval after the last one, and none after stop', async () => {
    let rounds = 0;
    const p = periodicRound(
      () => {
        rounds++;
        return Promise.resolve();
      },
      {
        intervalMs: 100,
        onError: () => undefined,
      },
    );
    await vi.advanceTimersByTimeAsync(350);
    expect(rounds).toBe(3);
    await p.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(rounds).toBe(3);
  });

  it('joins a round in flight instead of starting a second one', async () => {
    let started = 0;
    let finish = (): void => undefined;
    const p = periodicRound(
      () => {
        started++;
        return new Promise<void>((resolve) => (finish = resolve));
      },
      { intervalMs: 100, onError: () => undefined },
    );
    const first = p.run();
    const second = p.run();
    expect(started).toBe(1);
    finish();
    await Promise.all([first, second]);
    await p.stop();
  });

  it('reports a failed round and still runs the next; run() rejects with the failure', async () => {
    const errors: unknown[] = [];
    let n = 0;
    const p = periodicRound(() => (n++ === 0 ? Promise.reject(new Error('boom')) : Promise.resolve()), {
      intervalMs: 100,
      onError: (e) => errors.push(e),
    });
    await vi.advanceTimersByTimeAsync(250);
    expect(errors.map((e) => (e as Error).message)).toEqual(['boom']);
    expect(n).toBe(2);
    n = 0;
    await expect(p.run()).rejects.toThrow('boom');
    await p.stop();
  });

  it('stop waits for the round in flight', async () => {
    let finish = (): void => undefined;
    const p = periodicRound(() => new Promise<void>((resolve) => (finish = resolve)), {
      intervalMs: 100,
      onError: () => undefined,
    });
    void p.run();
    let stopped = false;
    const stopping = p.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(stopped).toBe(true);
  });
});
