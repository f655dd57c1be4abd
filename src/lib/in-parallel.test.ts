import { describe, expect, it } from 'vitest';
import { inParallel } from './in-parallel.js';

describe('inParallel', () => {
  it('runs every item once, never more than `width` at a time', async () => {
    let running = 0;
    let most = 0;
    const seen: number[] = [];
    await inParallel([...Array(20).keys()], 3, async (item, index) => {
      expect(index).toBe(item);
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 1));
      seen.push(item);
      running--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([...Array(20).keys()]);
    expect(most).toBe(3);
  });

  it('rejects with a failure, and does nothing for no items', async () => {
    await expect(
      inParallel([1, 2, 3], 2, (n) => (n === 2 ? Promise.reject(new Error('two')) : Promise.resolve())),
    ).rejects.toThrow('two');
    let called = false;
    await inParallel([], 4, () => {
      called = true;
      return Promise.resolve();
    });
    expect(called).toBe(false);
  });
});
