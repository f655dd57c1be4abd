import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../lib/fake-clock.js';
import { SlidingWindowLimiter } from './rate-limiter.js';

describe('SlidingWindowLimiter', () => {
  it('allows count actions per window, then says how long until the oldest leaves it', async () => {
    const clock = new FakeClock();
    const limiter = new SlidingWindowLimiter(2, 30_000, clock);
    expect('release' in limiter.tryTake()).toBe(true);
    await clock.advance(10_000);
    expect('release' in limiter.tryTake()).toBe(true);
    expect(limiter.tryTake()).toEqual({ waitMs: 20_000 });
    await clock.advance(20_000);
    expect(limiter.waitMs()).toBe(0);
  });

  it('gives a released slot back (an eviction that did not happen costs nothing)', () => {
    const limiter = new SlidingWindowLimiter(1, 30_000, new FakeClock());
    const slot = limiter.tryTake();
    if (!('release' in slot)) throw new Error('expected a slot');
    expect(limiter.waitMs()).toBe(30_000);
    slot.release();
    expect(limiter.waitMs()).toBe(0);
  });

  it('rejects nonsense settings', () => {
    expect(() => new SlidingWindowLimiter(0, 1, new FakeClock())).toThrow(/batch size/);
    expect(() => new SlidingWindowLimiter(1, -1, new FakeClock())).toThrow(/batch interval/);
  });
});
