// The seed's "Running Stork" on the box's real node: the shipped specs applied as users apply them, stork
// and the stork scheduler running as pods from images (the Dockerfile's, and kube-scheduler's), reaching
// the storage driver and each other through Services and the cluster DNS, and placing a pod next to its
// data. The only edits to the specs are those one node forces: every replica pinned to the real node (the
// KWOK nodes run no containers), two stork replicas and one scheduler (its anti-affinity is required).
import type { Deployment, Lease, Node, PersistentVolumeClaim, Pod } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Box } from '../../src/box/box.js';
import { deployStorkInCluster, inClusterReplicas } from '../../src/box/in-cluster.js';
import { seedCloneManifest, seedSnapshotManifest } from '../../src/box/seed-manifests.js';
import { realNodeLabel } from '../../src/box/node/real-node.js';
import { startBoxStorage, type BoxStorage } from '../../src/box/storage.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { applyManifests, createTestNamespace, deploySeedMysql, testPod, waitForPod } from './helpers.js';
import { createDriverVolume } from './stork-helpers.js';

const leases = resources.leases;

describe('stork running in the cluster from the shipped specs (real node)', () => {
  let box: Box;
  let storage: BoxStorage;
  let ns = '';
  beforeAll(async () => {
    box = await Box.start({
      nodes: [{ name: 'kwok-1' }, { name: 'kwok-2' }, { name: 'kwok-3' }],
      realNode: { name: 'real-1' },
    });
    // Storage on the KWOK nodes only: the seed's MySQL (whose image the box cannot pull) must be placed
    // on one of them, and a node without the driver is never a candidate.
    storage = await startBoxStorage(box, {
      storageNodes: (n) => n.metadata?.labels?.[realNodeLabel] !== 'true',
    });
    await deployStorkInCluster(box, storage);
    ns = await createTestNamespace(box.api, 'incluster');
  }, 1_500_000);
  afterAll(async () => {
    await storage.stop();
    await box.stop();
  });

  const available = (d: Deployment): number => d.status?.availableReplicas ?? 0;
  const deployment = (name: string): Promise<Deployment> =>
    box.api.get<Deployment>(resources.deployments, { namespace: 'kube-system', name });

  it('stork runs Ready on the real node: both replicas pass their probes against the driver Service', async () => {
    const stork = await waitFor(
      'stork available',
      async () => {
        const d = await deployment('stork');
        return available(d) === inClusterReplicas.stork ? d : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 2000 },
    );
    expect(stork.status?.readyReplicas).toBe(inClusterReplicas.stork);
    const pods = await box.api.list<Pod>(resources.pods, 'kube-system', { labelSelector: 'name=stork' });
    for (const pod of pods.items) {
      expect(pod.spec?.nodeName).toBe('real-1');
      // Non-root, as the spec asks and the image allows.
      expect(pod.status?.containerStatuses?.[0]?.ready).toBe(true);
    }
  });

  it('the stork scheduler runs Ready, reaching stork-service.kube-system through the cluster DNS', async () => {
    await waitFor(
      'stork-scheduler available',
      async () =>
        available(await deployment('stork-scheduler')) === inClusterReplicas['stork-scheduler']
          ? true
          : undefined,
      { timeoutMs: 300_000, intervalMs: 2000 },
    );
  });

  it('places a pod with a claim on a node holding its replica, through the in-cluster scheduler and extender', async () => {
    const nodes = (await box.api.list<Node>(resources.nodes)).items.map((n) => n.metadata?.name ?? '');
    expect(nodes).toContain('kwok-2');
    await createDriverVolume({ box, storage }, ns, 'data', ['kwok-2']);
    await box.api.create(resources.pods, testPod('app', { schedulerName: 'stork', claims: ['data'] }), ns);
    const placed = await waitForPod(box.api, ns, 'app', (p) => Boolean(p.spec?.nodeName), 180_000);
    expect(placed.spec?.nodeName).toBe('kwok-2');
  });

  it("places the seed's MySQL on a replica node, and snapshots and restores it through the in-cluster stork", async () => {
    const mysql = await deploySeedMysql(box.api, ns);
    const volume = storage.simulator.state.volumes().find((v) => v.labels.pvc === 'mysql-data');
    const replicaNodes = (volume?.replicaNodeIds ?? []).map((id) => id.replace(/^px-/, ''));
    expect(replicaNodes.length).toBeGreaterThan(0);
    expect(replicaNodes).toContain(mysql.spec?.nodeName);

    await applyManifests(box.api, seedSnapshotManifest(), ns);
    await waitFor(
      'mysql-snapshot Ready',
      async () => {
        const s = await box.api.get<VolumeSnapshot>(resources.volumeSnapshots, {
          namespace: ns,
          name: 'mysql-snapshot',
        });
        return s.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') || undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    await applyManifests(box.api, seedCloneManifest, ns);
    const clone = await waitFor(
      'mysql-snap-clone Bound',
      async () => {
        const c = await box.api.get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
          namespace: ns,
          name: 'mysql-snap-clone',
        });
        return c.status?.phase === 'Bound' ? c : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(clone.spec?.volumeName).toBeTruthy();
  });

  it('a new leader takes over when the leader pod is deleted', async () => {
    const holder = async (): Promise<string> =>
      (await box.api.get<Lease>(leases, { namespace: 'kube-system', name: 'stork' })).spec?.holderIdentity ??
      '';
    const first = await waitFor('a stork leader', async () => (await holder()) || undefined, {
      timeoutMs: 60_000,
    });
    const leaderPod = first.split('_')[0] ?? '';
    const pods = await box.api.list<Pod>(resources.pods, 'kube-system', { labelSelector: 'name=stork' });
    expect(pods.items.map((p) => p.metadata?.name)).toContain(leaderPod);
    await box.api.delete(resources.pods, { namespace: 'kube-system', name: leaderPod });
    const next = await waitFor(
      'another stork leader',
      async () => {
        const h = await holder();
        return h && !h.startsWith(`${leaderPod}_`) ? h : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(next.split('_')[0]).not.toBe(leaderPod);
  });
});
