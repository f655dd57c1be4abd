// The seed's "Running Stork" on the box's real node: the shipped specs applied as users apply them, stork
// and the stork scheduler running as pods from images (the Dockerfile's, and kube-scheduler's), reaching
// the storage driver and each other through Services and the cluster DNS, and placing a pod next to its
// data. The only edits to the specs are those one node forces: every replica pinned to the real node (the
// KWOK nodes run no containers), two stork replicas and one scheduler (its anti-affinity is required).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type {
  Deployment,
  EndpointSlice,
  Lease,
  Node,
  PersistentVolumeClaim,
  Pod,
  Service,
} from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { Box } from '../../src/box/box.js';
import { ensureKubeSchedulerImage } from '../../src/box/image/kube-scheduler-image.js';
import { ensureStorkImage } from '../../src/box/image/stork-image.js';
import { realNodeLabel } from '../../src/box/node/real-node.js';
import { startBoxStorage, type BoxStorage } from '../../src/box/storage.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { applyManifests, createTestNamespace, deploySeedMysql, testPod, waitForPod } from './helpers.js';
import { createDriverVolume } from './stork-helpers.js';

const root = new URL('../..', import.meta.url).pathname;
const endpointSlices = {
  group: 'discovery.k8s.io',
  version: 'v1',
  resource: 'endpointslices',
  namespaced: true,
};
const leases = resources.leases;

/** The seed README's snapshot of mysql-data and its restore (as in snapshots.e2e, in the test's namespace). */
const seedSnapshot = `
apiVersion: volumesnapshot.external-storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: mysql-snapshot
spec:
  persistentVolumeClaimName: mysql-data
`;
const seedClone = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: mysql-snap-clone
  annotations:
    snapshot.alpha.kubernetes.io/snapshot: mysql-snapshot
spec:
  accessModes:
     - ReadWriteOnce
  storageClassName: stork-snapshot-sc
  resources:
    requests:
      storage: 2Gi
`;

/** The shipped spec's documents, with the edits one real node forces (see the file's comment). */
async function shippedSpec(file: string, edit: (deployment: Deployment) => void): Promise<string> {
  const docs = parseAllDocuments(await readFile(join(root, 'specs', file), 'utf8')).map(
    (d) => d.toJS() as { kind?: string } | null,
  );
  for (const doc of docs) {
    if (doc?.kind !== 'Deployment') continue;
    const deployment = doc as Deployment;
    const pod = deployment.spec?.template.spec;
    if (pod) pod.nodeSelector = { ...pod.nodeSelector, [realNodeLabel]: 'true' };
    edit(deployment);
  }
  return docs
    .filter((d) => d !== null)
    .map((d) => stringify(d))
    .join('---\n');
}

function available(deployment: Deployment): number {
  return deployment.status?.availableReplicas ?? 0;
}

describe('stork running in the cluster from the shipped specs (real node)', () => {
  let box: Box;
  let storage: BoxStorage;
  let ns = '';
  beforeAll(async () => {
    const storkImage = (await ensureStorkImage()).name;
    box = await Box.start({
      nodes: [{ name: 'kwok-1' }, { name: 'kwok-2' }, { name: 'kwok-3' }],
      realNode: { name: 'real-1' },
    });
    const node = box.realNode;
    if (!node) throw new Error('the box has no real node');
    const schedulerImage = await ensureKubeSchedulerImage({
      binary: box.binaries.kubeScheduler,
      kubernetes: box.binaries.versions.kubernetes,
    });
    await node.importImage(storkImage);
    await node.importImage(schedulerImage);
    // Storage on the KWOK nodes only: the seed's MySQL (whose image the box cannot pull) must be placed
    // on one of them, and a node without the driver is never a candidate.
    storage = await startBoxStorage(box, {
      storageNodes: (n) => n.metadata?.labels?.[realNodeLabel] !== 'true',
    });

    // The storage driver's API Service (Portworx's `portworx-api`), here the simulator on this host.
    const simulatorPort = Number(storage.simulator.grpcEndpoint.split(':').pop());
    await node.forward(simulatorPort);
    const pxApi: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'portworx-api', namespace: 'kube-system' },
      spec: { ports: [{ name: 'px-sdk', port: 9020, targetPort: simulatorPort, protocol: 'TCP' }] },
    };
    await box.api.create(resources.services, pxApi, 'kube-system');
    const slice: EndpointSlice = {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: 'portworx-api-box',
        namespace: 'kube-system',
        labels: {
          'kubernetes.io/service-name': 'portworx-api',
          'endpointslice.kubernetes.io/managed-by': 'box',
        },
      },
      addressType: 'IPv4',
      endpoints: [{ addresses: [node.hostIp], conditions: { ready: true } }],
      ports: [{ name: 'px-sdk', port: simulatorPort, protocol: 'TCP' }],
    };
    await box.api.create(endpointSlices, slice, 'kube-system');

    const apply = async (file: string, text: string): Promise<void> => {
      const path = join(box.dir, file);
      await writeFile(path, text);
      await box.kubectl(['apply', '-f', path]);
    };
    await apply('stork-crds.yaml', await readFile(join(root, 'specs', 'stork-crds.yaml'), 'utf8'));
    await apply(
      'stork-deployment.yaml',
      await shippedSpec('stork-deployment.yaml', (d) => {
        if (!d.spec) return;
        d.spec.replicas = 2;
        for (const c of d.spec.template.spec?.containers ?? []) {
          c.image = storkImage;
          c.imagePullPolicy = 'Never';
        }
      }),
    );
    await apply(
      'stork-scheduler.yaml',
      await shippedSpec('stork-scheduler.yaml', (d) => {
        if (d.spec) d.spec.replicas = 1;
      }),
    );
    ns = await createTestNamespace(box.api, 'incluster');
  }, 1_500_000);
  afterAll(async () => {
    await storage.stop();
    await box.stop();
  });

  const deployment = (name: string): Promise<Deployment> =>
    box.api.get<Deployment>(resources.deployments, { namespace: 'kube-system', name });

  it('stork runs Ready on the real node: both replicas pass their probes against the driver Service', async () => {
    const stork = await waitFor(
      'stork available',
      async () => {
        const d = await deployment('stork');
        return available(d) === 2 ? d : undefined;
      },
      { timeoutMs: 300_000, intervalMs: 2000 },
    );
    expect(stork.status?.readyReplicas).toBe(2);
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
      async () => (available(await deployment('stork-scheduler')) === 1 ? true : undefined),
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

    await applyManifests(box.api, seedSnapshot, ns);
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
    await applyManifests(box.api, seedClone, ns);
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
