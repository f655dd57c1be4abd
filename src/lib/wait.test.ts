import { describe, expect, it } from 'vitest';
import { WaitTimeoutError, waitFor } from './wait.js';

describe('waitFor', () => {
  it('returns the first value the probe produces', async () => {
    let calls = 0;
    const value = await waitFor('third call', () => (++calls === 3 ? 'ready' : undefined), {
      timeoutMs: 1000,
      intervalMs: 1,
    });
    expect(value).toBe('ready');
    expect(calls).toBe(3);
  });

  it('times out naming what it waited for and the last error', async () => {
    const wait = waitFor(
      'the moon',
      () => {
        throw new Error('not risen');
      },
      { timeoutMs: 20, intervalMs: 5 },
    );
    await expect(wait).rejects.toBeInstanceOf(WaitTimeoutError);
    await expect(wait).rejects.toThrow(/waiting for the moon: not risen/);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(
      waitFor('never', () => false, { timeoutMs: 1000, signal: controller.signal }),
    ).rejects.toThrow('cancelled');
  });
});
