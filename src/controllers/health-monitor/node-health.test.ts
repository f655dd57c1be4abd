import { describe, expect, it } from 'vitest';
import { NodeHealthTracker } from './node-health.js';

const obs = (node: string, status: 'Online' | 'Offline' | 'Degraded' | 'StorageDown') => ({
  node,
  driverNodeId: `px-${node}`,
  status,
});

describe('NodeHealthTracker', () => {
  it('makes a node due only after it was unhealthy for the whole grace period', () => {
    const tracker = new NodeHealthTracker(60_000);
    expect(tracker.observe([obs('n1', 'Offline')], 0)).toEqual([]);
    expect(tracker.observe([obs('n1', 'Offline')], 59_999)).toEqual([]);
    expect(tracker.observe([obs('n1', 'Offline')], 60_000).map((d) => [d.node, d.since])).toEqual([
      ['n1', 0],
    ]);
  });

  it('starts over when the node recovers in between (flapping)', () => {
    const tracker = new NodeHealthTracker(60_000);
    tracker.observe([obs('n1', 'Offline')], 0);
    tracker.observe([obs('n1', 'Online')], 30_000);
    tracker.observe([obs('n1', 'Offline')], 40_000);
    expect(tracker.observe([obs('n1', 'Offline')], 90_000)).toEqual([]);
    expect(tracker.observe([obs('n1', 'Offline')], 100_000)).toHaveLength(1);
  });

  it('treats Degraded like Offline, and never acts on StorageDown', () => {
    const tracker = new NodeHealthTracker(0);
    expect(
      tracker
        .observe([obs('a', 'Degraded'), obs('b', 'StorageDown'), obs('c', 'Online')], 1)
        .map((d) => d.node),
    ).toEqual(['a']);
  });

  it('forgets a node that is no longer observed', () => {
    const tracker = new NodeHealthTracker(10);
    tracker.observe([obs('n1', 'Offline')], 0);
    tracker.observe([], 5);
    expect(tracker.unhealthyCount).toBe(0);
    expect(tracker.observe([obs('n1', 'Offline')], 12)).toEqual([]);
  });

  it('rejects a negative grace period', () => {
    expect(() => new NodeHealthTracker(-1)).toThrow(/grace period/);
  });
});
