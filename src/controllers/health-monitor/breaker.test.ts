import { describe, expect, it } from 'vitest';
import { CircuitBreaker, tripReason } from './breaker.js';

const limits = { maxUnhealthyNodes: 1, maxUnhealthyPercent: 34 };
const input = (unhealthyNodes: number, storageNodes: number) => ({
  unhealthyNodes,
  storageNodes,
  quorumLost: false,
});

describe('tripReason (the defaults: one node passes, a rack or quorum loss does not)', () => {
  it.each([
    [0, 3, false],
    [1, 3, false],
    [1, 4, false],
    [1, 100, false],
    [2, 100, true],
    [2, 4, true],
    [3, 4, true],
    [1, 2, true], // half a two-node cluster: no quorum left
    [1, 1, true],
  ])('%i of %i unhealthy: trips = %s', (bad, total, trips) => {
    expect(tripReason(input(bad, total), limits) !== undefined).toBe(trips);
  });

  it('trips on quorum loss and on an untrustworthy view whatever the counts', () => {
    expect(tripReason({ ...input(0, 4), quorumLost: true }, limits)?.reason).toBe('quorum-lost');
    expect(tripReason({ ...input(0, 4), untrustworthy: 'stale' }, limits)?.reason).toBe('untrustworthy-view');
  });
});

describe('CircuitBreaker', () => {
  it('opens at once, closes only after the cause has been gone for the grace period', () => {
    const breaker = new CircuitBreaker({ ...limits, graceMs: 100 });
    expect(breaker.evaluate(input(3, 4), 0).changed).toBe('opened');
    expect(breaker.evaluate(input(3, 4), 50).changed).toBeUndefined();
    expect(breaker.evaluate(input(1, 4), 60).state).toMatchObject({ state: 'Closing', closesAt: 160 });
    expect(breaker.evaluate(input(1, 4), 159).state.state).toBe('Closing');
    expect(breaker.evaluate(input(1, 4), 160).changed).toBe('closed');
    expect(breaker.closed).toBe(true);
  });

  it('rejects nonsense limits', () => {
    expect(() => new CircuitBreaker({ maxUnhealthyNodes: -1, maxUnhealthyPercent: 10, graceMs: 0 })).toThrow(
      /unhealthy nodes/,
    );
    expect(() => new CircuitBreaker({ maxUnhealthyNodes: 1, maxUnhealthyPercent: 101, graceMs: 0 })).toThrow(
      /percent/,
    );
  });
});
