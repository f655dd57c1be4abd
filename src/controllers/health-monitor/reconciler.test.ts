import { describe, expect, it, vi } from 'vitest';
import type { DriverNodeStatus } from '../../drivers/driver.js';
import { FakeKubeClient, tooManyRequests } from '../../k8s/testing/fake-client.js';
import { FakeClock } from '../../lib/fake-clock.js';
import { testReconciler as withFake } from './testing.js';

/** A reconciler over the shared in-memory API server and a fake clock. */
function testReconciler(options: Parameters<typeof withFake>[1] = {}) {
  const clock = new FakeClock();
  return withFake({ clock, api: new FakeKubeClient({ clock }), refusal: () => tooManyRequests() }, options);
}

const grace = 60_000;

/** n1 Offline from now, with the given pods on it (each with its own driver claim). */
function offlineNode(pods: readonly string[], options: Parameters<typeof testReconciler>[0] = {}) {
  const t = testReconciler(options);
  for (const p of pods) t.cluster.addPod(p, { claims: [`c-${p}`] });
  t.cluster.setStatus('n1', 'Offline');
  return t;
}

describe('HealthReconciler: the grace period', () => {
  it('waits exactly the grace period, asking to be called back at its end', async () => {
    const t = offlineNode(['a']);
    expect(await t.reconciler.reconcile('n1')).toEqual({ requeueAfterMs: grace });
    await t.advance(grace - 1);
    expect(await t.reconciler.reconcile('n1')).toEqual({ requeueAfterMs: 1 });
    expect(t.cluster.evictions()).toEqual([]);
    await t.advance(1);
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual(['a']);
  });

  it('starts over when the node flaps back Online within the grace period', async () => {
    const t = offlineNode(['a']);
    await t.reconciler.reconcile('n1');
    await t.advance(30_000);
    t.cluster.setStatus('n1', 'Online');
    await t.reconciler.reconcile('n1');
    await t.advance(10_000);
    t.cluster.setStatus('n1', 'Offline');
    await t.reconciler.reconcile('n1');
    await t.advance(50_000); // 90 s after the first failure, 50 s after the second
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual([]);
    await t.advance(10_000);
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual(['a']);
  });
});

describe('HealthReconciler: refreshes that change nothing', () => {
  it('re-matches nodes only when the storage nodes or the Node cache changed', () => {
    const t = testReconciler();
    const first = t.reconciler.refresh();
    t.cluster.touch();
    const same = t.reconciler.refresh();
    // The same counts, not a new matching of every node.
    expect(same.view.observations).toBe(first.view.observations);
    t.cluster.setStatus('n2', 'Offline');
    const offline = t.reconciler.refresh();
    expect(offline.view.observations).not.toBe(first.view.observations);
    expect(offline.changed).toEqual(['n2']);
  });

  it('observes a change made while the view was untrustworthy once it is trusted again, nodes unchanged', async () => {
    const t = testReconciler();
    t.reconciler.refresh();
    t.cluster.refreshedAgoMs = 31_000;
    t.cluster.setStatus('n1', 'Offline');
    expect(t.reconciler.refresh().changed).toEqual([]);
    expect(t.reconciler.tracker.get('n1')?.status).toBe('Online');
    // The next refresh succeeds with the same storage nodes (the cache keeps the same array).
    t.cluster.refreshedAgoMs = 0;
    await t.advance(1000);
    expect(t.reconciler.refresh().changed).toEqual(['n1']);
    expect(t.reconciler.tracker.get('n1')?.status).toBe('Offline');
  });
});

describe('HealthReconciler: only explicit statuses evacuate', () => {
  it.each<[DriverNodeStatus, boolean]>([
    ['Online', false],
    ['StorageDown', false],
    ['Degraded', false],
    ['Maintenance', false],
    ['NotInQuorum', false],
    ['Unknown', false],
    ['Offline', true],
    ['Initializing', true],
  ])('%s past the grace period: evicts = %s', async (status, evicts) => {
    const t = testReconciler();
    t.cluster.addPod('a');
    t.cluster.setStatus('n1', status);
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual(evicts ? ['a'] : []);
  });
});

describe('HealthReconciler: which pods move', () => {
  it('evicts running driver pods only: never finished, DaemonSet, mirror, non-driver or other-node pods', async () => {
    const t = testReconciler();
    t.cluster.addPod('app');
    t.cluster.addPod('pending', { phase: 'Pending' });
    t.cluster.addPod('failed', { phase: 'Failed' });
    t.cluster.addPod('succeeded', { phase: 'Succeeded' });
    t.cluster.addPod('daemon', { ownerKind: 'DaemonSet' });
    t.cluster.addPod('replica', { ownerKind: 'ReplicaSet' });
    t.cluster.addPod('mirror', { mirror: true });
    t.cluster.addClaim('foreign', { foreign: true });
    t.cluster.addPod('nodriver', { claims: ['foreign'] });
    t.cluster.addPod('elsewhere', { node: 'n2' });
    t.cluster.setStatus('n1', 'Offline');
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions().sort()).toEqual(['app', 'pending', 'replica']);
  });

  it('never evicts a pod whose volume is local to the node, and says so on the pod', async () => {
    const t = testReconciler();
    t.cluster.addClaim('local', { localTo: 'n1' });
    t.cluster.addPod('db', { claims: ['local'] });
    t.cluster.addPod('mixed', { claims: ['net', 'local'] });
    t.cluster.addPod('app', { claims: ['net2'] });
    t.cluster.setStatus('n1', 'Offline');
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual(['app']);
    const local = t.events.filter((e) => e.reason === 'VolumeLocalToNode');
    expect(local.map((e) => [e.name, e.type])).toEqual([
      ['db', 'Warning'],
      ['mixed', 'Warning'],
    ]);
    expect(local[0]?.message).toMatch(/pv-local .*only there/);
    // Told once per failure, not at every look.
    await t.advance(10_000);
    await t.reconciler.reconcile('n1');
    expect(t.events.filter((e) => e.reason === 'VolumeLocalToNode')).toHaveLength(2);
  });

  it('asks the storage system again before acting: a node back Online by then keeps its pods', async () => {
    const t = offlineNode(['a']);
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    // The storage system recovered; the cache has not caught up yet.
    t.cluster.liveStatus.set('n1', 'Online');
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual([]);
  });

  it('acts on nothing when the storage system cannot confirm (inspect fails), and looks again', async () => {
    const t = offlineNode(['a'], { inspectFails: true });
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    const result = await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual([]);
    expect(result?.requeueAfterMs).toBeGreaterThan(0);
  });

  it('stops draining when the node recovers in the middle of it', async () => {
    const t = offlineNode(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    const result = await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toHaveLength(5); // one batch
    expect(result?.requeueAfterMs).toBeLessThanOrEqual(30_000);
    t.cluster.setStatus('n1', 'Online');
    await t.advance(30_000);
    expect(await t.reconciler.reconcile('n1')).toBeUndefined();
    expect(t.cluster.evictions()).toHaveLength(5);
  });
});

describe('HealthReconciler: PodDisruptionBudgets and backoff', () => {
  it('backs a blocked pod off (doubling) without holding up the rest of its node', async () => {
    const t = offlineNode(['a', 'b']);
    t.cluster.guarded.add('a');
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    const first = await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual(['a', 'b']);
    expect(t.counts.blocked).toBe(1);
    expect(t.events.find((e) => e.reason === 'EvictionBlocked')?.message).toMatch(
      /disruption budget.*Retrying in 5s/,
    );
    expect(first?.requeueAfterMs).toBe(5_000);
    // Called again early (another event): the blocked pod is not tried before its backoff ends.
    await t.advance(1_000);
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual(['a', 'b']);
    await t.advance(4_000);
    const second = await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual(['a', 'b', 'a']);
    expect(second?.requeueAfterMs).toBe(10_000);
  });

  it('does not count a refused eviction against the rate limit', async () => {
    const t = offlineNode(['a', 'b', 'c', 'd', 'e', 'f'], { config: { batchSize: 5 } });
    t.cluster.guarded.add('a');
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    await t.reconciler.reconcile('n1');
    expect(t.cluster.evictions()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
  });
});

describe('HealthReconciler: rate limits across nodes', () => {
  it('shares one limit between nodes drained at the same time', async () => {
    const t = testReconciler({ config: { maxUnhealthyNodes: 2, maxUnhealthyPercent: 50 } });
    for (const p of ['a1', 'a2', 'a3', 'a4']) t.cluster.addPod(p, { node: 'n1', claims: [`c-${p}`] });
    for (const p of ['b1', 'b2', 'b3', 'b4']) t.cluster.addPod(p, { node: 'n2', claims: [`c-${p}`] });
    t.cluster.setStatus('n1', 'Offline');
    t.cluster.setStatus('n2', 'Offline');
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    await t.reconciler.reconcile('n1');
    const n2 = await t.reconciler.reconcile('n2');
    expect(t.cluster.evictions()).toHaveLength(5);
    expect(n2).toEqual({ requeueAfterMs: 30_000 });
    await t.advance(29_999);
    await t.reconciler.reconcile('n2');
    expect(t.cluster.evictions()).toHaveLength(5);
    await t.advance(1);
    await t.reconciler.reconcile('n2');
    expect(t.cluster.evictions()).toHaveLength(8);
  });
});

describe('HealthReconciler: the circuit breaker', () => {
  it.each([
    {
      name: 'mass outage: 3 of 4 nodes Offline',
      setup: (t: ReturnType<typeof testReconciler>) => {
        for (const n of ['n1', 'n2', 'n3']) t.cluster.setStatus(n, 'Offline');
      },
      config: {},
      reason: 'too-many-unhealthy',
      message: /3 of 4 storage nodes are unhealthy/,
    },
    {
      name: 'two of four at once (more than 1 node)',
      setup: (t: ReturnType<typeof testReconciler>) => {
        for (const n of ['n1', 'n2']) t.cluster.setStatus(n, 'Offline');
      },
      config: { maxUnhealthyPercent: 100 },
      reason: 'too-many-unhealthy',
      message: /2 of 4/,
    },
    {
      name: 'more than the percentage',
      setup: (t: ReturnType<typeof testReconciler>) => {
        for (const n of ['n1', 'n2']) t.cluster.setStatus(n, 'Offline');
      },
      config: { maxUnhealthyNodes: 10, maxUnhealthyPercent: 34 },
      reason: 'too-many-unhealthy',
      message: /50%/,
    },
    {
      name: 'quorum loss reported by the storage system',
      setup: (t: ReturnType<typeof testReconciler>) => {
        t.cluster.setStatus('n1', 'Offline');
        t.cluster.setStatus('n2', 'NotInQuorum');
      },
      config: { maxUnhealthyNodes: 10, maxUnhealthyPercent: 100 },
      reason: 'quorum-lost',
      message: /lost quorum/,
    },
    {
      name: 'a stale storage view',
      setup: (t: ReturnType<typeof testReconciler>) => {
        t.cluster.setStatus('n1', 'Offline');
        t.cluster.refreshedAgoMs = 31_000;
        t.cluster.lastError = 'connection refused';
      },
      config: {},
      reason: 'untrustworthy-view',
      message: /no successful refresh for 31s \(last error: connection refused\)/,
    },
    {
      name: 'a view served by a node that is itself unhealthy',
      setup: (t: ReturnType<typeof testReconciler>) => {
        t.cluster.setStatus('n1', 'Offline');
        t.cluster.servedBy = 'px-n1';
      },
      config: {},
      reason: 'untrustworthy-view',
      message: /served by storage node px-n1, which itself reports Offline/,
    },
  ])('$name: evicts nothing, says so (event, metric, reason)', async ({ setup, config, reason, message }) => {
    const t = testReconciler({ config });
    t.cluster.addPod('a', { node: 'n1' });
    t.cluster.addPod('b', { node: 'n2', claims: ['cb'] });
    // Seen healthy first, so the statuses below are changes.
    await t.reconciler.reconcile('n1');
    setup(t);
    t.cluster.touch();
    await t.reconciler.reconcile('n1');
    for (let i = 0; i < 3; i++) {
      await t.clock.advance(grace);
      t.cluster.touch();
      await t.reconciler.reconcile('n1');
      await t.reconciler.reconcile('n2');
    }
    expect(t.cluster.evictions()).toEqual([]);
    expect(t.counts.open).toBe(true);
    expect(t.counts.trips).toEqual([reason]);
    expect(t.reconciler.breakerState.message).toMatch(message);
    const warnings = t.events.filter((e) => e.reason === 'CircuitBreakerOpen');
    expect(warnings.some((e) => e.kind === 'ConfigMap' && e.name === 'stork-health-monitor')).toBe(true);
    expect(warnings.some((e) => e.kind === 'Node' && e.name === 'n1')).toBe(true);
  });

  it('a single node failure passes the defaults', async () => {
    const t = offlineNode(['a']);
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    await t.reconciler.reconcile('n1');
    expect(t.counts.open).toBe(false);
    expect(t.cluster.evictions()).toEqual(['a']);
  });

  it('closes by itself once under the threshold for the grace period, then drains the node still Offline', async () => {
    const t = testReconciler();
    t.cluster.addPod('a', { node: 'n3' });
    await t.reconciler.reconcile('n3');
    for (const n of ['n1', 'n2', 'n3']) t.cluster.setStatus(n, 'Offline');
    await t.reconciler.reconcile('n3');
    await t.advance(2 * grace);
    await t.reconciler.reconcile('n3');
    expect(t.reconciler.breakerState.state).toBe('Open');
    t.cluster.setStatus('n1', 'Online');
    t.cluster.setStatus('n2', 'Online');
    const closing = await t.reconciler.reconcile('n3');
    expect(t.reconciler.breakerState.state).toBe('Closing');
    expect(closing).toEqual({ requeueAfterMs: grace });
    await t.advance(grace - 1);
    await t.reconciler.reconcile('n3');
    expect(t.cluster.evictions()).toEqual([]);
    await t.advance(1);
    await t.reconciler.reconcile('n3');
    expect(t.reconciler.breakerState.state).toBe('Closed');
    expect(t.cluster.evictions()).toEqual(['a']);
    expect(t.events.some((e) => e.reason === 'CircuitBreakerClosed' && e.kind === 'ConfigMap')).toBe(true);
  });

  it('stays open when the count goes back over the threshold while closing', async () => {
    const t = testReconciler();
    t.cluster.addPod('a', { node: 'n3' });
    await t.reconciler.reconcile('n3');
    for (const n of ['n1', 'n2', 'n3']) t.cluster.setStatus(n, 'Offline');
    await t.reconciler.reconcile('n3');
    t.cluster.setStatus('n1', 'Online');
    t.cluster.setStatus('n2', 'Online');
    await t.advance(grace / 2);
    await t.reconciler.reconcile('n3');
    t.cluster.setStatus('n2', 'Offline');
    await t.advance(grace / 2);
    await t.reconciler.reconcile('n3');
    t.cluster.setStatus('n2', 'Online');
    await t.advance(grace / 2);
    await t.reconciler.reconcile('n3');
    expect(t.reconciler.breakerState.state).toBe('Closing');
    expect(t.cluster.evictions()).toEqual([]);
  });
});

describe('HealthReconciler: force-delete', () => {
  function stuckPod(options: { cachedReady: boolean; serverReady: boolean }) {
    const t = testReconciler();
    t.cluster.addPod('stuck', { claims: ['shared', 'own'], deletingForMs: 0 });
    t.cluster.addPod('other', { claims: ['shared'] });
    // A budget keeps 'other' running on the node, using the shared volume.
    t.cluster.guarded.add('other');
    t.cluster.addPod('far', { node: 'n2', claims: ['far'] });
    t.cluster.addAttachment('va-own', 'n1', 'pv-own');
    t.cluster.addAttachment('va-shared', 'n1', 'pv-shared');
    t.cluster.addAttachment('va-unrelated', 'n1', 'pv-unrelated');
    t.cluster.addAttachment('va-foreign', 'n1', 'pv-own', 'other.csi');
    t.cluster.addAttachment('va-far', 'n2', 'pv-far');
    t.cluster.setReady('n1', options.cachedReady, options.serverReady ? true : 'Unknown');
    t.cluster.setStatus('n1', 'Offline');
    return t;
  }

  it.each([
    { cachedReady: false, serverReady: false, deletes: true },
    { cachedReady: true, serverReady: false, deletes: true },
    { cachedReady: false, serverReady: true, deletes: false },
    { cachedReady: true, serverReady: true, deletes: false },
  ])(
    'cached Ready=$cachedReady, API server Ready=$serverReady: force-deletes = $deletes',
    async ({ cachedReady, serverReady, deletes }) => {
      const t = stuckPod({ cachedReady, serverReady });
      const deleteCalls = vi.spyOn(t.api, 'delete');
      await t.reconciler.reconcile('n1');
      await t.advance(grace);
      await t.reconciler.reconcile('n1'); // 'stuck' is terminating, not yet for long
      expect(t.cluster.deletes('pods')).toEqual([]);
      await t.advance(t.config.forceDeleteAfterMs);
      await t.reconciler.reconcile('n1');
      expect(t.api.callsTo({ verb: 'get', resource: 'nodes', name: 'n1' })).not.toEqual([]);
      expect(t.cluster.deletes('pods')).toEqual(deletes ? ['stuck'] : []);
      // Only the deleted pod's own volume: not the one 'other' still uses, not other drivers', nodes' or volumes'.
      expect(t.cluster.deletes('volumeattachments')).toEqual(deletes ? ['va-own'] : []);
      if (deletes) {
        const call = deleteCalls.mock.calls.find(([type]) => type.resource === 'pods');
        expect(call?.[2]).toMatchObject({ gracePeriodSeconds: 0, uid: 'uid-stuck' });
        expect(t.counts.forceDeleted).toBe(1);
      }
    },
  );

  it('never force-deletes before forceDeleteAfter, and asks to be called back then', async () => {
    const t = stuckPod({ cachedReady: false, serverReady: false });
    await t.reconciler.reconcile('n1');
    await t.advance(grace);
    const result = await t.reconciler.reconcile('n1');
    expect(t.cluster.deletes('pods')).toEqual([]);
    expect(result?.requeueAfterMs).toBeLessThanOrEqual(t.config.forceDeleteAfterMs - grace);
  });

  it('force-deletes nothing while the circuit breaker is open', async () => {
    const t = stuckPod({ cachedReady: false, serverReady: false });
    await t.reconciler.reconcile('n1');
    t.cluster.setStatus('n2', 'Offline');
    t.cluster.setStatus('n3', 'Offline');
    await t.advance(grace + t.config.forceDeleteAfterMs);
    await t.reconciler.reconcile('n1');
    expect(t.cluster.deletes('pods')).toEqual([]);
    expect(t.cluster.evictions()).toEqual([]);
  });
});
