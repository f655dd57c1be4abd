// The work queue's rules, each of which a controller relies on, on an injected clock where time matters.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import { WorkQueue } from './work-queue.js';

describe('WorkQueue rules', () => {
  it('never runs one key in two workers at once, under real concurrency', async () => {
    const active = new Map<string, number>();
    let overlaps = 0;
    let processed = 0;
    const queue = new WorkQueue({
      concurrency: 8,
      process: async (key) => {
        const now = (active.get(key) ?? 0) + 1;
        active.set(key, now);
        if (now > 1) overlaps++;
        await sleep(Math.random() * 3);
        active.set(key, (active.get(key) ?? 1) - 1);
        processed++;
        return undefined;
      },
    });
    const controller = new AbortController();
    const running = queue.run(controller.signal);
    // Keys re-added while in progress, from many places at once.
    for (let round = 0; round < 40; round++) {
      for (const key of ['a', 'b', 'c']) queue.add(key);
      await sleep(Math.random() * 2);
    }
    while (queue.length > 0) await sleep(5);
    controller.abort();
    await running;
    expect(overlaps).toBe(0);
    expect(processed).toBeGreaterThanOrEqual(3);
  });

  it.each([
    { failures: 6, base: 500, max: 4000, gaps: [500, 1000, 2000, 4000, 4000, 4000] },
    { failures: 3, base: 100, max: 60_000, gaps: [100, 200, 400] },
  ])(
    'retries a failing key with exponential backoff up to the cap: $gaps',
    async ({ failures, base, max, gaps }) => {
      const clock = new FakeClock();
      const attempts: number[] = [];
      const queue = new WorkQueue({
        clock,
        baseDelayMs: base,
        maxDelayMs: max,
        process: () => {
          attempts.push(clock.now());
          return attempts.length <= failures
            ? Promise.reject(new Error('not yet'))
            : Promise.resolve(undefined);
        },
      });
      const controller = new AbortController();
      const running = queue.run(controller.signal);
      queue.add('k');
      await clock.advance(gaps.reduce((a, b) => a + b, 0));
      expect(attempts.slice(1).map((t, i) => t - (attempts[i] ?? 0))).toEqual(gaps);
      controller.abort();
      await running;
    },
  );

  it('starts the backoff afresh after a success', async () => {
    const clock = new FakeClock();
    const attempts: number[] = [];
    const outcomes = [false, false, true, false];
    const queue = new WorkQueue({
      clock,
      baseDelayMs: 1000,
      process: () => {
        attempts.push(clock.now());
        const ok = outcomes[attempts.length - 1] ?? true;
        return ok ? Promise.resolve(undefined) : Promise.reject(new Error('x'));
      },
    });
    const controller = new AbortController();
    const running = queue.run(controller.signal);
    queue.add('k');
    await clock.advance(3000); // fail, +1 s fail, +2 s success
    expect(attempts).toHaveLength(3);
    queue.add('k'); // fails again: the first retry is after the base delay, not 4 s
    await clock.advance(0);
    await clock.advance(1000);
    expect(attempts).toHaveLength(5);
    expect((attempts[4] ?? 0) - (attempts[3] ?? 0)).toBe(1000);
    controller.abort();
    await running;
  });

  it.each([
    { first: 10_000, second: 1_000, due: 1_000 },
    { first: 1_000, second: 10_000, due: 1_000 },
    { first: 5_000, second: 0, due: 0 },
  ])(
    'an earlier due time wins: add after $first then after $second runs at $due',
    async ({ first, second, due }) => {
      const clock = new FakeClock();
      const start = clock.now();
      const ran: number[] = [];
      const queue = new WorkQueue({
        clock,
        process: () => {
          ran.push(clock.now() - start);
          return Promise.resolve(undefined);
        },
      });
      const controller = new AbortController();
      const running = queue.run(controller.signal);
      queue.add('k', first);
      queue.add('k', second);
      await clock.advance(20_000);
      expect(ran).toEqual([due]);
      controller.abort();
      await running;
    },
  );
});
