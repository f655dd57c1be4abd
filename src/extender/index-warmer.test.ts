import { describe, expect, it } from 'vitest';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import type { ClusterState } from './cluster-state.js';
import { startIndexWarmer } from './index-warmer.js';
import { schedulingIndexes } from './indexes.js';

// A third of the nodes run no storage: nothing but the warm-up's pass over all nodes computes their facts.
const nodes = Array.from({ length: 12 }, (_, i) => ({
  name: `node${i}`,
  rack: `r${i % 3}`,
  ...(i % 3 === 2 ? { driver: null } : {}),
}));

/** A fixture whose storage state can be replaced, and a subscription the test fires by hand. */
function changingCluster() {
  const fixture = schedulingFixture({ nodes });
  let state: ClusterState = fixture.state;
  const listeners = new Set<() => void>();
  return {
    fixture,
    state: () => state,
    subscribe: (listener: () => void) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    listeners,
    /** A refresh that brought a new storage node list (the same nodes, a new array). */
    storageChanged: () => {
      state = { ...state, snapshot: { ...state.snapshot, nodes: [...state.snapshot.nodes] } };
      for (const listener of listeners) listener();
    },
  };
}

/** A warmer over the cluster that counts its yields and how many passes were ever between two at once. */
function countingWarmer(cluster: ReturnType<typeof changingCluster>) {
  const counts = { yields: 0, concurrent: 0, most: 0 };
  const warmer = startIndexWarmer({
    state: cluster.state,
    subscribe: cluster.subscribe,
    chunk: 4,
    yieldToRequests: async () => {
      counts.yields++;
      counts.concurrent++;
      counts.most = Math.max(counts.most, counts.concurrent);
      await new Promise((r) => setImmediate(r));
      counts.concurrent--;
    },
  });
  return { warmer, counts };
}

describe('startIndexWarmer', () => {
  it('computes every node’s facts before a request asks, so the request path computes none', async () => {
    const cluster = changingCluster();
    const warmer = startIndexWarmer({ state: cluster.state, subscribe: cluster.subscribe, chunk: 5 });
    await warmer.idle();
    const indexes = schedulingIndexes(cluster.state());
    expect(indexes.factsComputed).toBe(nodes.length);
    for (const node of cluster.fixture.nodes) indexes.nodeFacts(node);
    expect(indexes.factsComputed).toBe(nodes.length);
    await warmer.stop();
  });

  it('warms the new indexes after the storage node list changes, and skips a refresh that changed nothing', async () => {
    const cluster = changingCluster();
    const { warmer, counts } = countingWarmer(cluster);
    await warmer.idle();
    const before = schedulingIndexes(cluster.state());
    cluster.storageChanged();
    await warmer.idle();
    const after = schedulingIndexes(cluster.state());
    expect(after).not.toBe(before);
    expect(after.factsComputed).toBe(nodes.length);
    const yieldsBefore = counts.yields;
    for (const listener of cluster.listeners) listener();
    await warmer.idle();
    expect(after.factsComputed).toBe(nodes.length);
    // Nothing changed: no pass at all (a pass over 12 nodes would have yielded 3 times).
    expect(counts.yields).toBe(yieldsBefore);
    await warmer.stop();
  });

  it('yields to the event loop every chunk of nodes, and runs one pass at a time however many changes come', async () => {
    const cluster = changingCluster();
    const { warmer, counts } = countingWarmer(cluster);
    for (let i = 0; i < 5; i++) cluster.storageChanged();
    await warmer.idle();
    expect(counts.most).toBe(1);
    // The first pass, then one more for the five changes that came during it: 12 nodes, 3 yields each.
    expect(counts.yields).toBe(6);
    expect(schedulingIndexes(cluster.state()).factsComputed).toBe(nodes.length);
    await warmer.stop();
  });

  it('stops: no pass after stop, and the subscription is gone', async () => {
    const cluster = changingCluster();
    const warmer = startIndexWarmer({ state: cluster.state, subscribe: cluster.subscribe });
    await warmer.stop();
    expect(cluster.listeners.size).toBe(0);
    cluster.storageChanged();
    expect(schedulingIndexes(cluster.state()).factsComputed).toBe(0);
  });
});
