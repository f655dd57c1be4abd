import { describe, expect, it } from 'vitest';
import { TokenBucket } from './rate-limit.js';

describe('TokenBucket', () => {
  it('lets a burst through at once, then paces requests at qps', async () => {
    const bucket = new TokenBucket(20, 3);
    const started = performance.now();
    await Promise.all([bucket.take(), bucket.take(), bucket.take()]);
    expect(performance.now() - started).toBeLessThan(30);
    await Promise.all([bucket.take(), bucket.take()]);
    // Two more at 20/s need about 100 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('rejects nonsense settings', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(/qps/);
    expect(() => new TokenBucket(1, 0)).toThrow(/burst/);
  });
});
