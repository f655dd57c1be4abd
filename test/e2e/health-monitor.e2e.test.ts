import type { Event, Node, Pod } from 'kubernetes-types/core/v1.js';
import type { VolumeAttachment } from 'kubernetes-types/storage/v1.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unmanagedNodeLabel } from '../../src/box/box.js';
import { storageNodeId } from '../../src/box/storage.js';
import { Informer } from '../../src/k8s/informer.js';
import { isNotFound } from '../../src/k8s/errors.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { deploySeedMysql, createTestNamespace, isRunning, testPod, waitForReplacement } from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';

const graceMs = 3000;
const batchIntervalMs = 3000;

describe('health monitor in the box: pods move off nodes whose storage driver failed', () => {
  const ctx = useStorkBox({
    box: {
      nodes: ['node-1', 'node-2', 'node-3', 'node-4', 'node-5', 'node-6'].map((name) => ({ name })),
    },
    stork: {
      driverRefreshIntervalMs: 300,
      healthMonitorConfig: {
        intervalMs: 300,
        graceMs,
        batchSize: 2,
        batchIntervalMs,
        forceDeleteAfterMs: 2000,
        blockedRetryMs: 1000,
      },
    },
  });
  let ns = '';
  /** When (local clock) each pod first got a deletionTimestamp, by pod name. */
  const evictedAt = new Map<string, number>();
  let pods: Informer<Pod> | undefined;

  beforeAll(async () => {
    ns = await createTestNamespace(ctx.box.api, 'hm');
    pods = new Informer<Pod>({ api: ctx.box.api, type: resources.pods, namespace: ns });
    const note = (pod: Pod): void => {
      const name = pod.metadata?.name ?? '';
      if (pod.metadata?.deletionTimestamp && !evictedAt.has(name)) evictedAt.set(name, Date.now());
    };
    pods.addHandlers({ onAdd: note, onUpdate: (_, pod) => note(pod), onDelete: note });
    await pods.start();
  });
  afterAll(async () => {
    pods?.stop();
    await pods?.stopped();
  });

  const setStatus = (node: string, status: 'Online' | 'Offline' | 'StorageDown'): void => {
    ctx.storage.simulator.state.setNodeStatus(storageNodeId(node), status);
  };

  /** Bare pods pinned to a node (no scheduler), each using the claim. */
  async function podsOn(node: string, claim: string, names: string[]): Promise<void> {
    for (const name of names) {
      await ctx.box.api.create(resources.pods, testPod(name, { nodeName: node, claims: [claim] }), ns);
    }
    await waitFor(
      `pods on ${node} running`,
      async () => {
        const list = await ctx.box.api.list<Pod>(resources.pods, ns);
        return names.every((n) => list.items.some((p) => p.metadata?.name === n && isRunning(p)));
      },
      { timeoutMs: 30_000 },
    );
  }

  async function podEvents(reason: string): Promise<Event[]> {
    return (await ctx.box.api.list<Event>(resources.events, ns, { fieldSelector: `reason=${reason}` })).items;
  }

  it("moves the seed's MySQL pod to the other replica node when its node's driver goes Offline", async () => {
    const first = await deploySeedMysql(ctx.box.api, ns);
    const from = first.spec?.nodeName ?? '';
    const volume = ctx.storage.simulator.state.volumes().find((v) => v.labels.pvc === 'mysql-data');
    const replicas = (volume?.replicaNodeIds ?? []).map((id) => id.replace(/^px-/, ''));
    expect(replicas).toContain(from);
    setStatus(from, 'Offline');
    try {
      const replacement = await waitForReplacement(ctx.box.api, ns, 'app=mysql', first.metadata?.uid);
      expect(replacement.spec?.nodeName).not.toBe(from);
      expect(replicas).toContain(replacement.spec?.nodeName);
      const events = await podEvents('StorageDriverOffline');
      expect(events.find((e) => e.involvedObject.name === first.metadata?.name)?.message).toMatch(
        new RegExp(`storage driver on node ${from} is Offline`),
      );
      // Stork's metric name, as dashboards built for Stork expect it.
      expect(await ctx.stork.metrics.registry.metrics()).toMatch(/^stork_pods_rescheduled_total [1-9]/m);
    } finally {
      setStatus(from, 'Online');
    }
  });

  it('leaves pods alone when the driver is Offline for less than the grace period, or StorageDown', async () => {
    await createDriverVolume(ctx, ns, 'brief', ['node-3']);
    await podsOn('node-3', 'brief', ['brief-1']);
    setStatus('node-3', 'Offline');
    await new Promise((resolve) => setTimeout(resolve, graceMs / 2));
    setStatus('node-3', 'Online');
    setStatus('node-4', 'StorageDown');
    await createDriverVolume(ctx, ns, 'sd', ['node-4']);
    await podsOn('node-4', 'sd', ['sd-1']);
    await new Promise((resolve) => setTimeout(resolve, graceMs * 2));
    setStatus('node-4', 'Online');
    expect(evictedAt.has('brief-1')).toBe(false);
    expect(evictedAt.has('sd-1')).toBe(false);
  });

  it('respects a PodDisruptionBudget: reports the blockage, and moves the pod once the budget allows', async () => {
    await createDriverVolume(ctx, ns, 'guarded', ['node-5']);
    await podsOn('node-5', 'guarded', ['guarded-1']);
    await ctx.box.api.create(
      resources.podDisruptionBudgets,
      {
        apiVersion: 'policy/v1',
        kind: 'PodDisruptionBudget',
        metadata: { name: 'guard' },
        spec: { minAvailable: 1, selector: { matchLabels: { app: 'guarded-1' } } },
      },
      ns,
    );
    // The disruption controller must have computed the budget before the node fails.
    await waitFor(
      'the PDB status',
      async () =>
        (
          await ctx.box.api.get<{ status?: { expectedPods?: number } }>(resources.podDisruptionBudgets, {
            namespace: ns,
            name: 'guard',
          })
        ).status?.expectedPods === 1,
      { timeoutMs: 30_000 },
    );
    setStatus('node-5', 'Offline');
    try {
      const blocked = await waitFor(
        'an EvictionBlocked event',
        async () => (await podEvents('EvictionBlocked'))[0],
        {
          timeoutMs: 30_000,
        },
      );
      expect(blocked.involvedObject.name).toBe('guarded-1');
      expect(blocked.message).toMatch(/disruption budget/);
      expect(evictedAt.has('guarded-1')).toBe(false);
      await ctx.box.api.patch(
        resources.podDisruptionBudgets,
        { namespace: ns, name: 'guard' },
        { spec: { minAvailable: 0 } },
      );
      await waitFor('the eviction once the budget allows it', () => evictedAt.has('guarded-1'), {
        timeoutMs: 30_000,
      });
    } finally {
      setStatus('node-5', 'Online');
    }
  });

  it('stops a drain when the node recovers in the middle: the rest of its pods stay', async () => {
    await createDriverVolume(ctx, ns, 'flap', ['node-6']);
    const names = ['flap-1', 'flap-2', 'flap-3', 'flap-4'];
    await podsOn('node-6', 'flap', names);
    setStatus('node-6', 'Offline');
    try {
      await waitFor('the first batch', () => names.filter((n) => evictedAt.has(n)).length >= 2, {
        timeoutMs: 30_000,
      });
    } finally {
      setStatus('node-6', 'Online');
    }
    await new Promise((resolve) => setTimeout(resolve, batchIntervalMs * 2));
    expect(names.filter((n) => evictedAt.has(n))).toHaveLength(2);
  });

  it('drains several failed nodes at once: each pod moves once, within the shared rate limit', async () => {
    await createDriverVolume(ctx, ns, 'multi-a', ['node-1']);
    await createDriverVolume(ctx, ns, 'multi-b', ['node-2']);
    const onA = ['multi-a-1', 'multi-a-2', 'multi-a-3'];
    const onB = ['multi-b-1', 'multi-b-2', 'multi-b-3'];
    await podsOn('node-1', 'multi-a', onA);
    await podsOn('node-2', 'multi-b', onB);
    setStatus('node-1', 'Offline');
    setStatus('node-2', 'Offline');
    try {
      await waitFor('all six evicted', () => [...onA, ...onB].every((n) => evictedAt.has(n)), {
        timeoutMs: 60_000,
      });
    } finally {
      setStatus('node-1', 'Online');
      setStatus('node-2', 'Online');
    }
    const times = [...onA, ...onB].map((n) => evictedAt.get(n) ?? 0).sort((a, b) => a - b);
    // 2 per 3 s window: six pods need three windows, so the last goes at least two intervals after the first.
    expect((times[5] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(batchIntervalMs * 2 - 200);
    for (let i = 2; i < times.length; i++) {
      expect((times[i] ?? 0) - (times[i - 2] ?? 0)).toBeGreaterThanOrEqual(batchIntervalMs - 200);
    }
    // Each pod evicted exactly once: one StorageDriverOffline event with count 1 per pod (events are sent
    // in the background, so wait for all of them).
    const moved = new Set([...onA, ...onB]);
    const events = await waitFor(
      'an event for each evicted pod',
      async () => {
        const list = (await podEvents('StorageDriverOffline')).filter((e) =>
          moved.has(e.involvedObject.name ?? ''),
        );
        return new Set(list.map((e) => e.involvedObject.name)).size === moved.size ? list : undefined;
      },
      { timeoutMs: 15_000 },
    );
    expect(events).toHaveLength(moved.size);
    for (const e of events) expect(e.count).toBe(1);
  });

  it('force-deletes a pod stuck terminating on a node that is down (NotReady), and removes its attachments', async () => {
    await createDriverVolume(ctx, ns, 'down', ['node-3']);
    await podsOn('node-3', 'down', ['down-1']);
    const attachment = (name: string, attacher: string): VolumeAttachment => ({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'VolumeAttachment',
      metadata: { name },
      spec: { attacher, nodeName: 'node-3', source: { persistentVolumeName: `${ns}-down` } },
    });
    await ctx.box.api.create(resources.volumeAttachments, attachment(`${ns}-px`, 'pxd.portworx.com'));
    await ctx.box.api.create(resources.volumeAttachments, attachment(`${ns}-other`, 'other.csi.example.com'));
    // Take the node away from KWOK (nothing finalizes its pods any more) and report it NotReady, as a
    // node whose kubelet died would be.
    await ctx.box.api.patch<Node>(
      resources.nodes,
      { name: 'node-3' },
      { metadata: { labels: { [unmanagedNodeLabel]: 'true' } } },
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    await ctx.box.api.patch<Node>(
      resources.nodes,
      { name: 'node-3', subresource: 'status' },
      {
        status: { conditions: [{ type: 'Ready', status: 'False', reason: 'KubeletDown', message: 'test' }] },
      },
    );
    setStatus('node-3', 'Offline');
    try {
      await waitFor('the pod to be evicted', () => evictedAt.has('down-1'), { timeoutMs: 30_000 });
      await waitFor(
        'the stuck pod to be force-deleted',
        async () => {
          try {
            await ctx.box.api.get<Pod>(resources.pods, { namespace: ns, name: 'down-1' });
            return false;
          } catch (error) {
            return isNotFound(error);
          }
        },
        { timeoutMs: 30_000 },
      );
      // The monitor removes the attachments right after the pods: wait for it rather than race it.
      const remaining = await waitFor(
        "the driver's attachment to be removed",
        async () => {
          const names = (await ctx.box.api.list<VolumeAttachment>(resources.volumeAttachments)).items.map(
            (a) => a.metadata?.name,
          );
          return names.includes(`${ns}-px`) ? undefined : names;
        },
        { timeoutMs: 10_000 },
      );
      expect(remaining).not.toContain(`${ns}-px`);
      expect(remaining).toContain(`${ns}-other`);
      const events = await podEvents('StorageDriverOffline');
      expect(
        events.some((e) => e.involvedObject.name === 'down-1' && /Force-deleting/.test(e.message ?? '')),
      ).toBe(true);
    } finally {
      setStatus('node-3', 'Online');
    }
  });
});
