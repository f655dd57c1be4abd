import { describe, expect, it } from 'vitest';
import { statusError } from './errors.js';
import { retryOnConflict } from './retry.js';

const conflict = () => statusError(409, 'Conflict', 'the object has been modified');
const exists = () => statusError(409, 'AlreadyExists', 'already exists');

describe('retryOnConflict', () => {
  it('runs again from a fresh read after a Conflict or an AlreadyExists, and returns the answer', async () => {
    const errors = [conflict(), exists()];
    const seen: number[] = [];
    const result = await retryOnConflict((n) => {
      seen.push(n);
      const error = errors.shift();
      return error ? Promise.reject(error) : Promise.resolve('written');
    });
    expect(result).toBe('written');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('gives up after the given attempts with the last conflict', async () => {
    let calls = 0;
    const failing = retryOnConflict(() => {
      calls++;
      return Promise.reject(conflict());
    }, 3);
    await expect(failing).rejects.toThrow(/modified/);
    expect(calls).toBe(3);
  });

  it('throws any other error at once', async () => {
    let calls = 0;
    const failing = retryOnConflict(() => {
      calls++;
      return Promise.reject(statusError(403, 'Forbidden', 'no'));
    });
    await expect(failing).rejects.toThrow('no');
    expect(calls).toBe(1);
  });
});
