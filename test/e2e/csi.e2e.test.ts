import type {
  CSIStorageCapacity,
  Event as CoreEvent,
  PersistentVolumeClaim,
  Pod,
} from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BoxCsi,
  csiNamespace,
  localCsiDriver,
  localStorageClass,
  networkCsiDriver,
  networkStorageClass,
} from '../../src/box/csi/box-csi.js';
import { defaultHealthMonitorConfig } from '../../src/controllers/health-monitor/config.js';
import { csiResources } from '../../src/drivers/csi/csi-informers.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, isRunning, testPod, waitForPod, waitForReplacement } from './helpers.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';

const gib = 2 ** 30;

/**
 * Stork's csi driver against real CSI parts: the upstream external-provisioner in distributed mode
 * (one per node, with capacity tracking) over the box's CSI plugins, and the pxd driver beside it, in
 * one stork. node-1 is almost full, node-2 has the most room, node-3 some, and node-4 has no node
 * plugin of the local driver (its CSINode lists only the network driver).
 */
describe('the csi driver in the box', () => {
  const ctx = useStorkBox({
    box: { nodes: ['node-1', 'node-2', 'node-3', 'node-4'].map((name) => ({ name })) },
    stork: { driver: 'pxd,csi', csiDriverNames: [localCsiDriver, networkCsiDriver], healthMonitor: false },
  });
  let csi: BoxCsi | undefined;
  let ns = '';

  beforeAll(async () => {
    csi = await BoxCsi.start(ctx.box, {
      nodes: [
        { name: 'node-1', capacityBytes: 1 * gib },
        { name: 'node-2', capacityBytes: 20 * gib },
        { name: 'node-3', capacityBytes: 8 * gib },
      ],
    });
    await csi.register('node-4', networkCsiDriver, []);
    ns = await createTestNamespace(ctx.box.api, 'csi');
    // The provisioners publish one CSIStorageCapacity per node for the local class.
    await waitFor(
      'CSIStorageCapacity objects of three nodes',
      async () => {
        const list = await ctx.box.api.list<CSIStorageCapacity>(
          csiResources.csiStorageCapacities,
          csiNamespace,
        );
        return list.items.filter((c) => c.storageClassName === localStorageClass).length >= 3 || undefined;
      },
      { timeoutMs: 60_000 },
    );
  }, 600_000);

  afterAll(async () => {
    await csi?.stop();
  });

  const claim = (name: string, storageClassName: string, size: string): PersistentVolumeClaim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: size } } },
  });

  it('places a WaitForFirstConsumer claim on the node with the most room, and the node’s provisioner serves it', async () => {
    const { api } = ctx.box;
    await api.create(resources.persistentVolumeClaims, claim('data', localStorageClass, '5Gi'), ns);
    await api.create(resources.pods, testPod('wffc', { schedulerName: 'stork', claims: ['data'] }), ns);
    const pod = await waitForPod(api, ns, 'wffc', isRunning, 90_000);
    expect(pod.spec?.nodeName).toBe('node-2');
    const bound = await api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
      namespace: ns,
      name: 'data',
    });
    expect(bound.metadata?.annotations?.['volume.kubernetes.io/selected-node']).toBe('node-2');
    expect(bound.status?.phase).toBe('Bound');
    // The volume is a real directory on node-2's storage.
    expect(csi?.plugins.get('node-2')?.usedBytes).toBe(5 * gib);
  });

  it('never places a pod on a node whose CSINode lacks the driver, and the scheduler’s event says why', async () => {
    const { api } = ctx.box;
    await api.create(resources.persistentVolumeClaims, claim('shared', networkStorageClass, '1Gi'), ns);
    await waitFor(
      'network claim bound',
      async () =>
        (
          await api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
            namespace: ns,
            name: 'shared',
          })
        ).status?.phase === 'Bound' || undefined,
      { timeoutMs: 60_000 },
    );
    await csi?.unregister('node-3', networkCsiDriver);
    const base = testPod('pinned', { schedulerName: 'stork', claims: ['shared'] });
    const pinned: Pod = {
      ...base,
      spec: { containers: [], ...base.spec, nodeSelector: { 'kubernetes.io/hostname': 'node-3' } },
    };
    await api.create(resources.pods, pinned, ns);
    const describe = await waitFor(
      'FailedScheduling naming the missing node plugin',
      async () => {
        const text = await ctx.box.kubectl(['describe', 'pod', 'pinned', '-n', ns]);
        return /FailedScheduling/.test(text) &&
          /network\.csi\.box\.test is not registered on this node/.test(text)
          ? text
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(describe).toMatch(/its node plugin is not running here/);
    const pod = await api.get<Pod>(resources.pods, { namespace: ns, name: 'pinned' });
    expect(pod.spec?.nodeName).toBeUndefined();
    // Once the node plugin is back, the same pod is placed there.
    await csi?.register('node-3', networkCsiDriver, []);
    // A Node update is an event the scheduler always requeues unschedulable pods on (as a kubelet's status
    // update after a plugin registers would be).
    await api.patch(
      resources.nodes,
      { name: 'node-3' },
      { metadata: { labels: { 'csi-e2e/plugin': 'back' } } },
    );
    const placed = await waitForPod(api, ns, 'pinned', isRunning, 90_000);
    expect(placed.spec?.nodeName).toBe('node-3');
  });

  it('pxd and csi claims in one pod, one stork: each driver’s rules hold', async () => {
    const { api } = ctx.box;
    // A pxd volume with replicas on node-1 and node-3; node-1 has no room for the 2Gi local claim.
    await createDriverVolume(ctx, ns, 'px-data', ['node-1', 'node-3']);
    await api.create(resources.persistentVolumeClaims, claim('scratch', localStorageClass, '2Gi'), ns);
    await api.create(
      resources.pods,
      testPod('mixed', { schedulerName: 'stork', claims: ['px-data', 'scratch'] }),
      ns,
    );
    const pod = await waitForPod(api, ns, 'mixed', isRunning, 90_000);
    // node-3 holds a pxd replica and has room; node-1 holds one but is full; node-2 has room but no replica.
    expect(pod.spec?.nodeName).toBe('node-3');
  });
});

/**
 * The csi driver alone (`--driver=csi`, no storage endpoint) with the health monitor: a node whose CSINode
 * loses the network driver (its node plugin died) has its pods with that driver's volumes moved.
 */
describe('the csi driver alone: a node plugin dying moves pods with network volumes', () => {
  const ctx = useStorkBox({
    box: { nodes: ['node-1', 'node-2', 'node-3'].map((name) => ({ name })) },
    stork: {
      driver: 'csi',
      driverEndpoint: '',
      csiDriverNames: [networkCsiDriver],
      driverRefreshIntervalMs: 300,
      healthMonitorConfig: {
        ...defaultHealthMonitorConfig,
        intervalMs: 300,
        graceMs: 2000,
        batchSize: 2,
        batchIntervalMs: 1000,
        forceDeleteAfterMs: 60_000,
        blockedRetryMs: 1000,
      },
    },
  });
  let csi: BoxCsi | undefined;
  let ns = '';

  beforeAll(async () => {
    csi = await BoxCsi.start(ctx.box, { nodes: [] });
    for (const node of ['node-1', 'node-2', 'node-3']) await csi.register(node, networkCsiDriver, []);
    ns = await createTestNamespace(ctx.box.api, 'csi-hm');
  }, 600_000);

  afterAll(async () => {
    await csi?.stop();
  });

  it('evicts the pod once the driver’s CSINode entry is gone past the grace period; it runs elsewhere', async () => {
    const { api } = ctx.box;
    await api.create(
      resources.persistentVolumeClaims,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'shared', namespace: ns },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: networkStorageClass,
          resources: { requests: { storage: '1Gi' } },
        },
      },
      ns,
    );
    const template = testPod('app', { schedulerName: 'stork', claims: ['shared'] });
    await api.create(
      resources.deployments,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'app', namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'app' } },
          template: { metadata: { labels: { app: 'app' } }, spec: template.spec },
        },
      },
      ns,
    );
    const first = await waitFor(
      'the app pod running',
      async () =>
        (await api.list<Pod>(resources.pods, ns, { labelSelector: 'app=app' })).items.find(isRunning),
      { timeoutMs: 90_000 },
    );
    const nodeName = first.spec?.nodeName ?? '';
    await csi?.unregister(nodeName, networkCsiDriver);
    const moved = await waitForReplacement(api, ns, 'app=app', first.metadata?.uid);
    expect(moved.spec?.nodeName).not.toBe(nodeName);
  });
});

/**
 * pxd and csi in one stork with the health monitor (`--driver=pxd,csi`): each driver is judged on its
 * own. The network driver's node plugin dying on a node moves the pod whose only volume is that driver's,
 * and leaves (with a Warning event) the pod whose other volume is local to the node; pxd is untouched.
 */
describe('pxd,csi with the health monitor: each driver judged on its own', () => {
  const ctx = useStorkBox({
    box: { nodes: ['node-1', 'node-2', 'node-3'].map((name) => ({ name })) },
    stork: {
      driver: 'pxd,csi',
      csiDriverNames: [localCsiDriver, networkCsiDriver],
      driverRefreshIntervalMs: 300,
      healthMonitorConfig: {
        ...defaultHealthMonitorConfig,
        intervalMs: 300,
        graceMs: 2000,
        batchSize: 2,
        batchIntervalMs: 1000,
        forceDeleteAfterMs: 60_000,
        blockedRetryMs: 1000,
      },
    },
  });
  let csi: BoxCsi | undefined;
  let ns = '';

  beforeAll(async () => {
    csi = await BoxCsi.start(ctx.box, {
      nodes: ['node-1', 'node-2', 'node-3'].map((name) => ({ name, capacityBytes: 8 * gib })),
    });
    ns = await createTestNamespace(ctx.box.api, 'csi-mixed-hm');
  }, 600_000);

  afterAll(async () => {
    await csi?.stop();
  });

  const claim = (name: string, storageClassName: string): PersistentVolumeClaim => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: ns },
    spec: { accessModes: ['ReadWriteOnce'], storageClassName, resources: { requests: { storage: '1Gi' } } },
  });

  it('moves the network-volume pod off the node whose plugin died; the local-volume pod stays, with an event', async () => {
    const { api } = ctx.box;
    await api.create(resources.persistentVolumeClaims, claim('shared', networkStorageClass), ns);
    const template = testPod('app', { schedulerName: 'stork', claims: ['shared'] });
    await api.create(
      resources.deployments,
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'app', namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'app' } },
          template: { metadata: { labels: { app: 'app' } }, spec: template.spec },
        },
      },
      ns,
    );
    const first = await waitFor(
      'the app pod running',
      async () =>
        (await api.list<Pod>(resources.pods, ns, { labelSelector: 'app=app' })).items.find(isRunning),
      { timeoutMs: 90_000 },
    );
    const nodeName = first.spec?.nodeName ?? '';
    // On the same node, a pod with a network volume and a volume local to the node.
    await api.create(resources.persistentVolumeClaims, claim('db-net', networkStorageClass), ns);
    await api.create(resources.persistentVolumeClaims, claim('db-local', localStorageClass), ns);
    const base = testPod('db', { schedulerName: 'stork', claims: ['db-net', 'db-local'] });
    await api.create(
      resources.pods,
      {
        ...base,
        spec: { containers: [], ...base.spec, nodeSelector: { 'kubernetes.io/hostname': nodeName } },
      },
      ns,
    );
    const db = await waitForPod(api, ns, 'db', isRunning, 90_000);
    expect(db.spec?.nodeName).toBe(nodeName);

    await csi?.unregister(nodeName, networkCsiDriver);
    const moved = await waitForReplacement(api, ns, 'app=app', first.metadata?.uid);
    expect(moved.spec?.nodeName).not.toBe(nodeName);
    const local = await waitFor(
      'a VolumeLocalToNode event on db',
      async () => {
        const events = await api.list<CoreEvent>(resources.events, ns);
        return events.items.find((e) => e.reason === 'VolumeLocalToNode' && e.involvedObject.name === 'db');
      },
      { timeoutMs: 30_000 },
    );
    expect(local.type).toBe('Warning');
    expect(local.message).toMatch(/only there/);
    const still = await api.get<Pod>(resources.pods, { namespace: ns, name: 'db' });
    expect(still.metadata?.uid).toBe(db.metadata?.uid);
    expect(still.metadata?.deletionTimestamp).toBeUndefined();
  });
});
