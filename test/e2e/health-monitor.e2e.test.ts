import type { Event, Node, Pod, VolumeAttachment } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unmanagedNodeLabel } from '../../src/box/box.js';
import { storageNodeId } from '../../src/box/storage.js';
import { Informer } from '../../src/k8s/informer.js';
import { isNotFound } from '../../src/k8s/errors.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { deploySeedMysql, createTestNamespace, isRunning, testPod, waitForReplacement } from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';
import { runStorkctl } from '../../src/cli/program.js';
import { defaultHealthMonitorConfig } from '../../src/controllers/health-monitor/config.js';
import type { HealthStatusDocument } from '../../src/drivers/health-status-document.js';
import { portworxCsiDriver } from '../../src/box/px-provisioner.js';

const graceMs = 3000;
const batchIntervalMs = 3000;

describe('health monitor in the box: pods move off nodes whose storage driver failed', () => {
  const ctx = useStorkBox({
    // Four storage nodes: one failing passes the circuit breaker's defaults, two or more do not.
    box: { nodes: ['node-1', 'node-2', 'node-3', 'node-4'].map((name) => ({ name })) },
    stork: {
      driverRefreshIntervalMs: 300,
      driverStaleAfterMs: 2000,
      healthMonitorConfig: {
        ...defaultHealthMonitorConfig,
        intervalMs: 300,
        graceMs,
        batchSize: 2,
        batchIntervalMs,
        forceDeleteAfterMs: 2000,
        blockedRetryMs: 1000,
        maxBlockedRetryMs: 5000,
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

  const setStatus = (node: string, status: 'Online' | 'Offline' | 'StorageDown' | 'Maintenance'): void => {
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

  /** `storkctl get healthmonitor -o json`, run in this process with the box's admin credentials. */
  async function storkctlHealth(): Promise<HealthStatusDocument> {
    let out = '';
    let err = '';
    const io = { out: (t: string) => (out += t), err: (t: string) => (err += t) };
    const code = await runStorkctl(
      [
        'get',
        'healthmonitor',
        '-o',
        'json',
        '--kubeconfig',
        ctx.box.kubeconfigPath,
        '--stork-namespace',
        'kube-system',
      ],
      io,
    );
    expect(code, err).toBe(0);
    return JSON.parse(out) as HealthStatusDocument;
  }

  async function breakerState(): Promise<string> {
    return (await storkctlHealth()).breaker.state;
  }

  async function metric(name: string): Promise<number | undefined> {
    const text = await ctx.stork.metrics.registry.metrics();
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return match ? Number(match[1]) : undefined;
  }

  /** Waits until the breaker is closed again (after a test that opened it). */
  async function breakerClosed(): Promise<void> {
    await waitFor('the circuit breaker closed', async () => (await breakerState()) === 'Closed', {
      timeoutMs: 30_000,
    });
  }

  async function clusterEvents(reason: string, kind: string): Promise<Event[]> {
    const namespace = kind === 'Node' ? 'default' : 'kube-system';
    return (
      await ctx.box.api.list<Event>(resources.events, namespace, {
        fieldSelector: `reason=${reason},involvedObject.kind=${kind}`,
      })
    ).items;
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
    // Clean up, so that later drains of these nodes count only their own pods.
    for (const name of ['brief-1', 'sd-1']) {
      await ctx.box.api.delete(resources.pods, { namespace: ns, name }, { gracePeriodSeconds: 0 });
    }
    await waitFor(
      'the pods gone',
      async () => {
        const list = await ctx.box.api.list<Pod>(resources.pods, ns);
        return !list.items.some((p) => ['brief-1', 'sd-1'].includes(p.metadata?.name ?? ''));
      },
      { timeoutMs: 30_000 },
    );
  });

  it('respects a PodDisruptionBudget: reports the blockage, and moves the pod once the budget allows', async () => {
    await createDriverVolume(ctx, ns, 'guarded', ['node-2']);
    await podsOn('node-2', 'guarded', ['guarded-1']);
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
    setStatus('node-2', 'Offline');
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
      setStatus('node-2', 'Online');
    }
  });

  it('stops a drain when the node recovers in the middle: the rest of its pods stay', async () => {
    await createDriverVolume(ctx, ns, 'flap', ['node-4']);
    const names = ['flap-1', 'flap-2', 'flap-3', 'flap-4'];
    await podsOn('node-4', 'flap', names);
    setStatus('node-4', 'Offline');
    try {
      await waitFor('the first batch', () => names.filter((n) => evictedAt.has(n)).length >= 2, {
        timeoutMs: 30_000,
      });
    } finally {
      setStatus('node-4', 'Online');
    }
    await new Promise((resolve) => setTimeout(resolve, batchIntervalMs * 2));
    expect(names.filter((n) => evictedAt.has(n))).toHaveLength(2);
  });

  it('drains a node within the rate limit, each pod once, and never a pod whose volume is local to it', async () => {
    await createDriverVolume(ctx, ns, 'multi', ['node-1']);
    const names = ['multi-1', 'multi-2', 'multi-3', 'multi-4', 'multi-5', 'multi-6'];
    await podsOn('node-1', 'multi', names);
    // A volume whose PersistentVolume pins it to node-1: its data is only there.
    await ctx.box.api.create(resources.persistentVolumes, {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${ns}-local` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'px-static',
        csi: { driver: portworxCsiDriver, volumeHandle: `${ns}-local` },
        claimRef: { namespace: ns, name: 'local' },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['node-1'] }] },
            ],
          },
        },
      },
    });
    await ctx.box.api.create(
      resources.persistentVolumeClaims,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'local' },
        spec: {
          storageClassName: 'px-static',
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
          volumeName: `${ns}-local`,
        },
      },
      ns,
    );
    await podsOn('node-1', 'local', ['local-1']);
    setStatus('node-1', 'Offline');
    try {
      await waitFor('all six evicted', () => names.every((n) => evictedAt.has(n)), { timeoutMs: 60_000 });
      const local = await waitFor(
        'a VolumeLocalToNode event',
        async () => (await podEvents('VolumeLocalToNode')).find((e) => e.involvedObject.name === 'local-1'),
        { timeoutMs: 10_000 },
      );
      expect(local.type).toBe('Warning');
      expect(local.message).toMatch(new RegExp(`${ns}-local .*only there`));
      expect(evictedAt.has('local-1')).toBe(false);
    } finally {
      setStatus('node-1', 'Online');
    }
    const times = names.map((n) => evictedAt.get(n) ?? 0).sort((a, b) => a - b);
    // 2 per 3 s window: six pods need three windows, so the last goes at least two intervals after the first.
    expect((times[5] ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(batchIntervalMs * 2 - 200);
    for (let i = 2; i < times.length; i++) {
      expect((times[i] ?? 0) - (times[i - 2] ?? 0)).toBeGreaterThanOrEqual(batchIntervalMs - 200);
    }
    // Each pod evicted exactly once: one StorageDriverOffline event with count 1 per pod (events are sent
    // in the background, so wait for all of them).
    const moved = new Set(names);
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

  it('evicts nothing when 3 of 4 storage nodes fail at once; says so; drains the one left Offline once two recover', async () => {
    for (const node of ['node-1', 'node-2', 'node-4']) {
      await createDriverVolume(ctx, ns, `mass-${node}`, [node]);
      await podsOn(node, `mass-${node}`, [`mass-${node}-1`]);
    }
    const names = ['node-1', 'node-2', 'node-4'].map((n) => `mass-${n}-1`);
    for (const node of ['node-1', 'node-2', 'node-4']) setStatus(node, 'Offline');
    try {
      await waitFor('the breaker open', async () => (await breakerState()) === 'Open', { timeoutMs: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, graceMs * 3));
      expect(names.filter((n) => evictedAt.has(n))).toEqual([]);
      const status = await storkctlHealth();
      expect(status.breaker).toMatchObject({ state: 'Open', reason: 'too-many-unhealthy' });
      expect(status.breaker.message).toMatch(/3 of 4 storage nodes are unhealthy/);
      expect(status.nodes.map((n) => [n.name, n.action])).toEqual([
        ['node-1', 'held'],
        ['node-2', 'held'],
        ['node-4', 'held'],
      ]);
      expect(await metric('stork_health_monitor_circuit_breaker_open')).toBe(1);
      expect(await ctx.stork.metrics.registry.metrics()).toMatch(
        /^stork_health_monitor_circuit_breaker_trips_total\{reason="too-many-unhealthy"\} [1-9]/m,
      );
      const onSelf = await waitFor(
        "the Warning on stork's own object",
        async () =>
          (await clusterEvents('CircuitBreakerOpen', 'ConfigMap')).find(
            (e) => e.involvedObject.name === 'stork-health-monitor',
          ),
        { timeoutMs: 10_000 },
      );
      expect(onSelf.type).toBe('Warning');
      const onNodes = await waitFor(
        'the Warning on the affected Nodes',
        async () => {
          const list = await clusterEvents('CircuitBreakerOpen', 'Node');
          const nodes = new Set(list.map((e) => e.involvedObject.name));
          return ['node-1', 'node-2', 'node-4'].every((n) => nodes.has(n)) ? list : undefined;
        },
        { timeoutMs: 10_000 },
      );
      expect(onNodes.every((e) => e.type === 'Warning')).toBe(true);

      // Two recover: the breaker closes after the grace period, then node-4 is drained.
      const recoveredAt = Date.now();
      setStatus('node-1', 'Online');
      setStatus('node-2', 'Online');
      await waitFor('node-4 drained', () => evictedAt.has('mass-node-4-1'), { timeoutMs: 30_000 });
      expect((evictedAt.get('mass-node-4-1') ?? 0) - recoveredAt).toBeGreaterThanOrEqual(graceMs - 100);
      expect(evictedAt.has('mass-node-1-1')).toBe(false);
      expect(evictedAt.has('mass-node-2-1')).toBe(false);
      expect(await breakerState()).toBe('Closed');
      expect(await metric('stork_health_monitor_circuit_breaker_open')).toBe(0);
    } finally {
      for (const node of ['node-1', 'node-2', 'node-4']) setStatus(node, 'Online');
    }
  });

  it('evicts nothing while the storage system reports lost quorum', async () => {
    await createDriverVolume(ctx, ns, 'quorum', ['node-2']);
    await podsOn('node-2', 'quorum', ['quorum-1']);
    setStatus('node-2', 'Offline');
    ctx.storage.simulator.state.setCluster({ quorumLost: true });
    try {
      await waitFor(
        'the breaker open',
        async () => (await storkctlHealth()).breaker.reason === 'quorum-lost',
        {
          timeoutMs: 10_000,
        },
      );
      await new Promise((resolve) => setTimeout(resolve, graceMs * 2));
      expect(evictedAt.has('quorum-1')).toBe(false);
      expect((await storkctlHealth()).quorumLost).toBe(true);
    } finally {
      setStatus('node-2', 'Online');
      ctx.storage.simulator.state.setCluster({ quorumLost: false });
    }
    await breakerClosed();
    expect(evictedAt.has('quorum-1')).toBe(false);
  });

  it('evicts nothing when stork cannot reach the storage system, even for a node it saw Offline', async () => {
    await createDriverVolume(ctx, ns, 'cut', ['node-4']);
    await podsOn('node-4', 'cut', ['cut-1']);
    setStatus('node-4', 'Offline');
    await waitFor(
      'stork to see node-4 Offline',
      async () => (await storkctlHealth()).nodes.some((n) => n.name === 'node-4' && n.action === 'waiting'),
      { timeoutMs: 10_000 },
    );
    ctx.storage.simulator.state.setCluster({ unreachable: true });
    try {
      await waitFor(
        'the breaker open (untrustworthy view)',
        async () => (await storkctlHealth()).breaker.reason === 'untrustworthy-view',
        { timeoutMs: 10_000 },
      );
      await new Promise((resolve) => setTimeout(resolve, graceMs * 2));
      expect(evictedAt.has('cut-1')).toBe(false);
      expect((await storkctlHealth()).untrustworthy).toMatch(/no successful refresh/);
    } finally {
      setStatus('node-4', 'Online');
      ctx.storage.simulator.state.setCluster({ unreachable: false });
    }
    await breakerClosed();
    expect(evictedAt.has('cut-1')).toBe(false);
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
