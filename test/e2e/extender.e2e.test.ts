import type { Event, Node, PersistentVolume, PersistentVolumeClaim, Pod } from '../../src/wire/k8s-types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { storageNodeId } from '../../src/box/storage.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { deploySeedMysql, createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';

const topology = [
  { name: 'node-1', rack: 'r1', zone: 'za', region: 'e1' },
  { name: 'node-2', rack: 'r1', zone: 'za', region: 'e1' },
  { name: 'node-3', rack: 'r2', zone: 'za', region: 'e1' },
  { name: 'node-4', rack: 'r3', zone: 'zb', region: 'e1' },
  { name: 'node-5', rack: 'r4', zone: 'zb', region: 'e1' },
  { name: 'node-6', rack: 'r5', zone: 'zc', region: 'e2' },
];

describe('hyper-convergence in the box: kube-scheduler (stork profile) + extender + simulator', () => {
  const ctx = useStorkBox({
    box: {
      nodes: topology.map((n) => ({
        name: n.name,
        labels: {
          'px/rack': n.rack,
          'topology.kubernetes.io/zone': n.zone,
          'topology.kubernetes.io/region': n.region,
        },
      })),
    },
  });
  let ns = '';
  beforeAll(async () => {
    ns = await createTestNamespace(ctx.box.api, 'hc');
  });

  /** The storage nodes (by Kubernetes name) holding a replica of the volume behind a claim. */
  async function replicaNodesOf(claim: string): Promise<string[]> {
    const pvc = await ctx.box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
      namespace: ns,
      name: claim,
    });
    const pv = await ctx.box.api.get<PersistentVolume>(resources.persistentVolumes, {
      name: pvc.spec?.volumeName ?? '',
    });
    const volume = ctx.storage.simulator.state.requireVolume(pv.spec?.csi?.volumeHandle ?? '');
    return volume.replicaNodeIds.map((id) => id.replace(/^px-/, ''));
  }

  const staticVolume = (claim: string, nodes: string[]): Promise<void> =>
    createDriverVolume(ctx, ns, claim, nodes);

  /** Waits until stork's driver cache has seen the volume (the storage side changed behind its back). */
  async function cacheKnows(predicate: () => boolean): Promise<void> {
    await waitFor('the driver cache to catch up', predicate, { timeoutMs: 10_000, intervalMs: 100 });
  }

  async function podWithClaims(name: string, claims: string[]): Promise<Pod> {
    await ctx.box.api.create(resources.pods, testPod(name, { schedulerName: 'stork', claims }), ns);
    return waitForPod(ctx.box.api, ns, name, isRunning, 30_000);
  }

  let probes = 0;
  async function setCordoned(node: string, unschedulable: boolean): Promise<void> {
    await ctx.box.api.patch<Node>(resources.nodes, { name: node }, { spec: { unschedulable } });
    if (!unschedulable) return;
    // The stork scheduler reads nodes from its own cache: wait until it refuses a probe pod pinned to the
    // node as unschedulable, so the next pod is not placed on what the scheduler still thinks is open.
    await waitFor(
      `the stork scheduler to see ${node} cordoned`,
      async () => {
        const name = `cordon-probe-${String(probes++)}`;
        const probe = testPod(name, { schedulerName: 'stork' });
        probe.spec = {
          ...probe.spec,
          containers: probe.spec?.containers ?? [],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  { matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] },
                ],
              },
            },
          },
        };
        await ctx.box.api.create(resources.pods, probe, ns);
        const pod = await waitFor(
          `probe ${name} decided`,
          async () => {
            const p = await ctx.box.api.get<Pod>(resources.pods, { namespace: ns, name });
            const scheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled');
            return p.spec?.nodeName || scheduled?.status === 'False' ? p : undefined;
          },
          { timeoutMs: 30_000 },
        );
        await ctx.box.api.delete(resources.pods, { namespace: ns, name }, { gracePeriodSeconds: 0 });
        return !pod.spec?.nodeName;
      },
      { timeoutMs: 60_000 },
    );
  }

  async function events(pod: string, reason: string): Promise<Event[]> {
    return (
      await ctx.box.api.list<Event>(resources.events, ns, {
        fieldSelector: `involvedObject.name=${pod},reason=${reason}`,
      })
    ).items;
  }

  it("places the seed's MySQL Deployment on a replica node, every time over 20 reschedules", async () => {
    const pod = await deploySeedMysql(ctx.box.api, ns);
    const replicas = await replicaNodesOf('mysql-data');
    expect(replicas).toHaveLength(2);
    expect(replicas).toContain(pod.spec?.nodeName);
    const placements = [pod.spec?.nodeName];
    let current = pod;
    for (let i = 0; i < 20; i++) {
      await ctx.box.api.delete(
        resources.pods,
        { namespace: ns, name: current.metadata?.name ?? '' },
        { gracePeriodSeconds: 0 },
      );
      const previous = current.metadata?.name;
      current = await waitFor(
        `replacement ${i + 1}`,
        async () =>
          (await ctx.box.api.list<Pod>(resources.pods, ns, { labelSelector: 'app=mysql' })).items.find(
            (p) => isRunning(p) && p.metadata?.name !== previous,
          ),
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      placements.push(current.spec?.nodeName);
    }
    for (const node of placements) expect(replicas).toContain(node);
  });

  it('prefers the node holding replicas of several volumes, then the same rack, then the same zone', async () => {
    await staticVolume('logs', ['node-3', 'node-4']);
    await staticVolume('data', ['node-4', 'node-5']);
    await cacheKnows(() => ctx.stork.cache.snapshot().volumesById.has(`${ns}-data`));
    expect((await podWithClaims('two-volumes', ['logs', 'data'])).spec?.nodeName).toBe('node-4');

    await staticVolume('single', ['node-1']);
    await cacheKnows(() => ctx.stork.cache.snapshot().volumesById.has(`${ns}-single`));
    await setCordoned('node-1', true);
    try {
      expect((await podWithClaims('same-rack', ['single'])).spec?.nodeName).toBe('node-2');
      await setCordoned('node-2', true);
      expect((await podWithClaims('same-zone', ['single'])).spec?.nodeName).toBe('node-3');
      // Stork's gauges keep Stork's meaning (how many replicas the pod's node holds); ours, by class.
      // Stork counts Ready pods only: wait for the kubelet (KWOK) to report them Ready.
      const ready = async (name: string) =>
        waitForPod(
          ctx.box.api,
          ns,
          name,
          (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
          30_000,
        );
      for (const name of ['two-volumes', 'same-rack', 'same-zone']) await ready(name);
      const metrics = await ctx.stork.metrics.registry.metrics();
      expect(metrics).toContain(`stork_hyperconverged_pods_total{pod="two-volumes",namespace="${ns}"} 1`);
      expect(metrics).toContain(`stork_non_hyperconverged_pods_total{pod="same-rack",namespace="${ns}"} 1`);
      expect(metrics).toContain(`stork_non_hyperconverged_pods_total{pod="same-zone",namespace="${ns}"} 1`);
      expect(metrics).not.toContain(`stork_hyperconverged_pods_total{pod="same-zone"`);
      expect(metrics).toContain(
        `stork_pod_placement{pod="same-rack",namespace="${ns}",placement="semi-hyperconverged"} 1`,
      );
      expect(metrics).toContain(
        `stork_pod_placement{pod="two-volumes",namespace="${ns}",placement="hyperconverged"} 1`,
      );
      const nonOptimum = await waitFor(
        'a NonOptimumScheduling event',
        async () => (await events('same-zone', 'NonOptimumScheduling'))[0],
        {
          timeoutMs: 10_000,
        },
      );
      // As Stork's: it names the nodes holding the replicas, where room would have to be made.
      expect(nonOptimum.message).toMatch(/available on these nodes: \[node-1\]$/);
    } finally {
      await setCordoned('node-1', false);
      await setCordoned('node-2', false);
    }
  });

  it('never places a pod on a node whose storage driver is offline', async () => {
    await staticVolume('fragile', ['node-3', 'node-5']);
    ctx.storage.simulator.state.setNodeStatus(storageNodeId('node-3'), 'Offline');
    try {
      await cacheKnows(
        () =>
          ctx.stork.cache.snapshot().nodesById.get(storageNodeId('node-3'))?.status === 'Offline' &&
          ctx.stork.cache.snapshot().volumesById.has(`${ns}-fragile`),
      );
      for (let i = 0; i < 5; i++) {
        expect((await podWithClaims(`offline-${i}`, ['fragile'])).spec?.nodeName).toBe('node-5');
      }
      ctx.storage.simulator.state.setNodeStatus(storageNodeId('node-5'), 'Offline');
      await cacheKnows(
        () => ctx.stork.cache.snapshot().nodesById.get(storageNodeId('node-5'))?.status === 'Offline',
      );
      await ctx.box.api.create(
        resources.pods,
        testPod('nowhere', { schedulerName: 'stork', claims: ['fragile'] }),
        ns,
      );
      const failed = await waitFor(
        'FailedScheduling',
        async () => (await events('nowhere', 'FailedScheduling'))[0],
        {
          timeoutMs: 20_000,
        },
      );
      expect(failed.message).toMatch(/No online node found with volume replica/);
      expect(
        (await ctx.box.api.get<Pod>(resources.pods, { namespace: ns, name: 'nowhere' })).spec?.nodeName,
      ).toBeUndefined();
    } finally {
      ctx.storage.simulator.state.setNodeStatus(storageNodeId('node-3'), 'Online');
      ctx.storage.simulator.state.setNodeStatus(storageNodeId('node-5'), 'Online');
    }
    // Once the storage is back, the waiting pod is placed on a replica node.
    const placed = await waitForPod(ctx.box.api, ns, 'nowhere', isRunning, 60_000);
    expect(['node-3', 'node-5']).toContain(placed.spec?.nodeName);
  });

  it('records its own FailedScheduling on a pod whose claim is under restore, as Stork', async () => {
    // (A missing claim never reaches the extender: kube-scheduler's volume binding refuses the pod first.)
    await staticVolume('restoring', ['node-2']);
    await ctx.box.api.patch<PersistentVolumeClaim>(
      resources.persistentVolumeClaims,
      { namespace: ns, name: 'restoring' },
      { metadata: { annotations: { 'stork.libopenstorage.org/restore-in-progress': 'true' } } },
    );
    await ctx.box.api.create(
      resources.pods,
      testPod('under-restore', { schedulerName: 'stork', claims: ['restoring'] }),
      ns,
    );
    const message = `Volume restore is in progress for pvc: ${ns}/restoring`;
    // kube-scheduler reports the extender's error in an event of its own (no source); stork's has one.
    const event = await waitFor(
      "stork's FailedScheduling on the pod",
      async () =>
        (await events('under-restore', 'FailedScheduling')).find(
          (e) => e.message === message && e.source?.component === 'stork',
        ),
      { timeoutMs: 20_000 },
    );
    expect(event.type).toBe('Warning');
  });

  it('schedules a pod without driver volumes normally', async () => {
    await ctx.box.api.create(resources.pods, testPod('plain', { schedulerName: 'stork' }), ns);
    const pod = await waitForPod(ctx.box.api, ns, 'plain', isRunning, 30_000);
    expect(topology.map((n) => n.name)).toContain(pod.spec?.nodeName);
  });

  it('keeps scheduling across an extender restart', async () => {
    await staticVolume('restart', ['node-6']);
    await ctx.stopStork();
    await ctx.box.api.create(
      resources.pods,
      testPod('during-restart', { schedulerName: 'stork', claims: ['restart'] }),
      ns,
    );
    // With the extender down, kube-scheduler cannot place the pod (the extender is not ignorable)...
    await waitFor(
      'FailedScheduling while the extender is down',
      async () => (await events('during-restart', 'FailedScheduling')).length > 0,
      {
        timeoutMs: 20_000,
      },
    );
    // ...and once it is back, the pod is placed where its data is.
    await ctx.startStork();
    const placed = await waitForPod(ctx.box.api, ns, 'during-restart', isRunning, 60_000);
    expect(placed.spec?.nodeName).toBe('node-6');
  });
});
