import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter } from './rate-limiter.js';

describe('SlidingWindowLimiter', () => {
  it('allows count actions per window, then waits for the oldest to leave it', async () => {
    let now = 0;
    const limiter = new SlidingWindowLimiter(2, 30_000, () => now);
    await limiter.take();
    now = 10_000;
    await limiter.take();
    expect(limiter.waitMs()).toBe(20_000);
    now = 30_000;
    expect(limiter.waitMs()).toBe(0);
  });

  it('rejects nonsense settings', () => {
    expect(() => new SlidingWindowLimiter(0, 1)).toThrow(/batch size/);
    expect(() => new SlidingWindowLimiter(1, -1)).toThrow(/batch interval/);
  });
});
