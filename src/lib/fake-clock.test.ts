import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';

describe('FakeClock', () => {
  it('wakes sleepers in due order and only when time reaches them', async () => {
    const clock = new FakeClock();
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push('b'));
    void clock.sleep(100).then(() => woke.push('a'));
    await clock.advance(99);
    expect(woke).toEqual([]);
    await clock.advance(1);
    expect(woke).toEqual(['a']);
    await clock.advance(500);
    expect(woke).toEqual(['a', 'b']);
  });

  it('lets a loop that sleeps repeatedly see every step of one advance', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const controller = new AbortController();
    const loop = (async () => {
      for (;;) {
        await clock.sleep(10, controller.signal);
        seen.push(clock.now());
      }
    })().catch(() => undefined);
    const start = clock.now();
    await clock.advance(35);
    expect(seen).toEqual([start + 10, start + 20, start + 30]);
    controller.abort();
    await loop;
    expect(clock.pending).toBe(0);
  });

  it('rejects a sleep when its signal aborts, and moves the wall clock alone on jumpWall', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('stopped'));
    await expect(sleeping).rejects.toThrow('stopped');
    const [mono, wall] = [clock.now(), clock.wallNow()];
    clock.jumpWall(-60_000);
    expect(clock.now()).toBe(mono);
    expect(clock.wallNow()).toBe(wall - 60_000);
  });
});
