// Restores of CSI-backed snapshots, table-driven over the fake API server: the ClaimProvisioner and its
// CsiRestores run beside a small stand-in for what the cluster does (the CSI driver's provisioner makes a
// volume for a claim with a snapshot data source; the PV controller binds pre-bound volumes, marks a claim
// whose volume names another claim Lost, and deletes a Delete volume whose claim is gone). Each case
// starts from one state a stork killed at any step leaves behind, and checks where it ends.
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { csiSnapshotResources, CsiVolumeSnapshots } from '../../drivers/csi/csi-snapshots.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { ClaimProvisioner } from './claim-provisioner.js';
import {
  CsiRestores,
  managedByLabel,
  csiRestoreName,
  largerQuantity,
  restoreForClaimAnnotation,
  restoreForUidLabel,
} from './csi-restore.js';
import { restoreFinalizer, restoreNamespacesAnnotation, snapshotDataName } from './names.js';
import { FakeStorage, runUntilSettled } from './testing.js';
import type { EventRecorder } from '../../k8s/events.js';
import { silentLogger } from '../../lib/log.js';

const driver = 'local.csi.test';
const seedUid = 'seed-uid';
const csiName = `snapshot-${seedUid}`;

const seedSnapshot = (restoreNamespaces?: string): VolumeSnapshot => ({
  metadata: {
    namespace: 'shop',
    name: 'nightly',
    uid: seedUid,
    ...(restoreNamespaces ? { annotations: { [restoreNamespacesAnnotation]: restoreNamespaces } } : {}),
  },
  spec: { persistentVolumeClaimName: 'data', snapshotDataName: snapshotDataName(seedUid) },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
});
const seedData: VolumeSnapshotData = {
  metadata: { name: snapshotDataName(seedUid) },
  spec: {
    csiSnapshot: { namespace: 'shop', name: csiName, volumeSnapshotContentName: 'content-1' },
    volumeSnapshotRef: { kind: 'VolumeSnapshot', namespace: 'shop', name: 'nightly', uid: seedUid },
  },
};
const csiSnapshot = {
  apiVersion: 'snapshot.storage.k8s.io/v1',
  kind: 'VolumeSnapshot',
  metadata: { namespace: 'shop', name: csiName, uid: 'csi-uid' },
  spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'local-snaps' },
  status: { boundVolumeSnapshotContentName: 'content-1', readyToUse: true, restoreSize: '2Gi' },
};
const sourceContent = {
  apiVersion: 'snapshot.storage.k8s.io/v1',
  kind: 'VolumeSnapshotContent',
  metadata: { name: 'content-1' },
  spec: {
    deletionPolicy: 'Delete',
    driver,
    source: { volumeHandle: 'vol-src' },
    volumeSnapshotClassName: 'local-snaps',
    volumeSnapshotRef: { namespace: 'shop', name: csiName },
  },
  status: { snapshotHandle: 'handle-1', readyToUse: true },
};
const sourcePv: PersistentVolume = {
  metadata: { name: 'pv-src' },
  spec: {
    storageClassName: 'local',
    csi: { driver, volumeHandle: 'vol-src' },
    claimRef: { namespace: 'shop', name: 'data', uid: 'data-uid' },
    nodeAffinity: {
      required: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'topo/node', operator: 'In', values: ['n2'] }] }],
      },
    },
  },
  status: { phase: 'Bound' },
};
const node = (name: string, label: string, unschedulable = false): Node => ({
  metadata: { name, labels: { 'topo/node': label } },
  spec: unschedulable ? { unschedulable: true } : {},
});
const classes: StorageClass[] = [
  { metadata: { name: 'stork-snapshot-sc' }, provisioner: 'stork-snapshot', reclaimPolicy: 'Delete' },
  {
    metadata: { name: 'local' },
    provisioner: driver,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'WaitForFirstConsumer',
  },
];

function userClaim(
  uid: string,
  namespace = 'shop',
  extra: { finalizers?: string[]; deleting?: boolean; volumeName?: string; phase?: string } = {},
): PersistentVolumeClaim {
  return {
    metadata: {
      namespace,
      name: `restore-${uid}`,
      uid,
      annotations: {
        'snapshot.alpha.kubernetes.io/snapshot': 'nightly',
        ...(namespace === 'shop' ? {} : { 'stork/snapshot-source-namespace': 'shop' }),
      },
      ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
      ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      storageClassName: 'stork-snapshot-sc',
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
      ...(extra.volumeName ? { volumeName: extra.volumeName } : {}),
    },
    status: { phase: extra.phase ?? 'Pending' },
  };
}

/** Stork's restore claim for user claim `uid`, in the state a killed stork may have left it. */
function shadowClaim(uid: string, namespace = 'shop', state: { volumeName?: string; phase?: string } = {}) {
  return {
    metadata: {
      namespace,
      name: csiRestoreName(uid),
      uid: `shadow-${uid}`,
      labels: { [restoreForUidLabel]: uid },
      annotations: { [restoreForClaimAnnotation]: `restore-${uid}` },
    },
    spec: {
      storageClassName: 'local',
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '2Gi' } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: csiName },
      ...(state.volumeName ? { volumeName: state.volumeName } : {}),
    },
    status: { phase: state.phase ?? 'Pending' },
  } satisfies PersistentVolumeClaim;
}

/** A volume the CSI driver made for claim `for` (its name and handle derived from that claim's UID). */
function madeVolume(
  forUid: string,
  claimRef: { namespace: string; name: string; uid: string },
  extra: { labels?: Record<string, string>; className?: string } = {},
): PersistentVolume {
  return {
    metadata: {
      name: `pvc-${forUid}`,
      annotations: { 'pv.kubernetes.io/provisioned-by': driver },
      ...(extra.labels ? { labels: extra.labels } : {}),
    },
    spec: {
      storageClassName: extra.className ?? 'local',
      persistentVolumeReclaimPolicy: 'Delete',
      csi: { driver, volumeHandle: `restored-${forUid}` },
      capacity: { storage: '2Gi' },
      accessModes: ['ReadWriteOnce'],
      claimRef,
    },
    status: { phase: 'Bound' },
  };
}

type Claim = PersistentVolumeClaim & { metadata: { namespace: string; name: string; uid: string } };
interface CsiSnapshotJson {
  metadata: { namespace: string; name: string };
  spec: { source: { volumeSnapshotContentName?: string } };
  status?: { readyToUse?: boolean };
}

/**
 * What the cluster does meanwhile, in one idempotent step (so a run settles): the snapshot controller
 * binds a pre-provisioned snapshot; the CSI provisioner makes a volume for a claim with a ready snapshot
 * data source (and a selected node, the class being WaitForFirstConsumer); the PV controller binds a claim
 * to a volume pre-bound to it, marks a claim whose volume names another claim Lost, and has a Delete
 * volume whose claim is gone deleted. `log` records the storage writes.
 */
async function clusterStep(api: FakeKubeClient, log: string[]): Promise<void> {
  for (const vs of api.objects<CsiSnapshotJson>(csiSnapshotResources.volumeSnapshots)) {
    const contentName = vs.spec.source.volumeSnapshotContentName;
    if (
      contentName &&
      vs.status?.readyToUse !== true &&
      api.object(csiSnapshotResources.volumeSnapshotContents, contentName)
    ) {
      api.seed(csiSnapshotResources.volumeSnapshots, {
        ...vs,
        status: { boundVolumeSnapshotContentName: contentName, readyToUse: true, restoreSize: '2Gi' },
      });
    }
  }
  for (const pvc of api.objects<Claim>(resources.persistentVolumeClaims)) {
    const source = pvc.spec?.dataSource;
    if (!source || pvc.spec?.volumeName || pvc.metadata.deletionTimestamp) continue;
    if (!pvc.metadata.annotations?.['volume.kubernetes.io/selected-node']) continue;
    const vs = api.object<CsiSnapshotJson>(
      csiSnapshotResources.volumeSnapshots,
      source.name,
      pvc.metadata.namespace,
    );
    if (vs?.status?.readyToUse !== true) continue;
    const { namespace, name, uid } = pvc.metadata;
    const pv = madeVolume(uid, { namespace, name, uid });
    log.push(`create volume restored-${uid}`);
    api.seed(resources.persistentVolumes, pv);
    api.seed(resources.persistentVolumeClaims, {
      ...pvc,
      spec: { ...pvc.spec, volumeName: pv.metadata?.name },
      status: { phase: 'Bound' },
    });
  }
  const claims = api.objects<Claim>(resources.persistentVolumeClaims);
  for (const pv of api.objects<PersistentVolume>(resources.persistentVolumes)) {
    const ref = pv.spec?.claimRef;
    if (!ref || pv.metadata?.name === 'pv-src') continue;
    const pvc = claims.find((c) => c.metadata.namespace === ref.namespace && c.metadata.name === ref.name);
    if (!pvc || pvc.metadata.uid !== ref.uid) {
      if (pv.spec?.persistentVolumeReclaimPolicy === 'Delete') {
        log.push(`delete volume ${pv.spec.csi?.volumeHandle ?? ''}`);
        await api.delete(resources.persistentVolumes, { name: pv.metadata?.name ?? '' });
      }
      continue;
    }
    if (!pvc.spec?.volumeName && !pvc.metadata.deletionTimestamp) {
      api.seed(resources.persistentVolumeClaims, {
        ...pvc,
        spec: { ...pvc.spec, volumeName: pv.metadata?.name },
        status: { phase: 'Bound' },
      });
    }
  }
  for (const pvc of api.objects<Claim>(resources.persistentVolumeClaims)) {
    const name = pvc.spec?.volumeName;
    const pv = name ? api.object<PersistentVolume>(resources.persistentVolumes, name) : undefined;
    if (pv && pv.spec?.claimRef?.uid !== pvc.metadata.uid && pvc.status?.phase !== 'Lost') {
      api.seed(resources.persistentVolumeClaims, { ...pvc, status: { phase: 'Lost' } });
    }
  }
}

interface World {
  readonly claims: readonly PersistentVolumeClaim[];
  readonly volumes?: readonly PersistentVolume[];
  readonly restoreNamespaces?: string;
  readonly contents?: readonly unknown[];
  readonly snapshots?: readonly unknown[];
  readonly nodes?: readonly Node[];
}

async function run(world: World) {
  const api = new FakeKubeClient({
    statusSubresources: [
      resources.volumeSnapshots,
      resources.volumeSnapshotDatas,
      csiSnapshotResources.volumeSnapshots,
    ],
  });
  api.seed(csiSnapshotResources.volumeSnapshots, csiSnapshot, ...(world.snapshots ?? []));
  api.seed(csiSnapshotResources.volumeSnapshotContents, sourceContent, ...(world.contents ?? []));
  api.seed(resources.nodes, ...(world.nodes ?? [node('n1', 'n1'), node('n2', 'n2')]));
  const log: string[] = [];
  // What stork sent (the fake records calls, not bodies).
  const bodies: { verb: string; resource: string; body: unknown }[] = [];
  const create = api.create.bind(api);
  const patch = api.patch.bind(api);
  api.create = (type, body, ...rest) => {
    bodies.push({ verb: 'create', resource: type.resource, body: structuredClone(body) });
    return create(type, body, ...rest);
  };
  api.patch = (type, ref, body, ...rest) => {
    bodies.push({ verb: 'patch', resource: type.resource, body: structuredClone(body) });
    return patch(type, ref, body, ...rest);
  };
  const cluster = {
    async run(signal: AbortSignal) {
      while (!signal.aborted) {
        await clusterStep(api, log);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
  const result = await runUntilSettled(
    api,
    {
      claims: world.claims,
      volumes: [sourcePv, ...(world.volumes ?? [])],
      storageClasses: classes,
      volumeSnapshots: [seedSnapshot(world.restoreNamespaces)],
      snapshotData: [seedData],
    },
    new FakeStorage(),
    (deps) => {
      const snapshots = new CsiVolumeSnapshots({
        api,
        volumeByHandle: () => undefined,
        seedAnnotations: () => Promise.resolve({}),
      });
      const csiRestores = new CsiRestores({
        api,
        events: deps.events,
        logger: deps.logger,
        storageClasses: deps.storageClasses,
        volumeByHandle: (d, handle) =>
          deps.volumes.list().find((pv) => pv.spec?.csi?.driver === d && pv.spec.csi.volumeHandle === handle),
      });
      return [
        new ClaimProvisioner({ ...deps, snapshots, csiRestores, retryDelayMs: 10, maxRetryDelayMs: 20 }),
        cluster,
      ];
    },
    { quietMs: 200, timeoutMs: 8000 },
  );
  const writes = api.writes().map((w) => `${w.verb} ${w.resource}`);
  const sent = (verb: string, resource: string) =>
    bodies.find((b) => b.verb === verb && b.resource === resource)?.body;
  return { ...result, log, writes, bodies, sent };
}

const claimsOf = (api: FakeKubeClient, namespace: string) =>
  api
    .objects<Claim>(resources.persistentVolumeClaims)
    .filter((c) => c.metadata.namespace === namespace)
    .map(
      (c) =>
        `${c.metadata.name} ${c.status?.phase ?? ''} ${c.spec?.volumeName ?? ''} [${(c.metadata.finalizers ?? []).join(',')}]`,
    )
    .sort();

/** The user claim's volume at the end, and what is left of stork's helpers. */
function outcome(r: Awaited<ReturnType<typeof run>>, namespace: string, uid: string) {
  const user = r.claim(namespace, `restore-${uid}`);
  const pv = user?.spec?.volumeName ? r.pv(user.spec.volumeName) : undefined;
  const helpers = [
    ...r.api.objects<Claim>(resources.persistentVolumeClaims),
    ...r.api.objects<CsiSnapshotJson>(csiSnapshotResources.volumeSnapshots),
    ...r.api.objects<{ metadata: { name: string } }>(csiSnapshotResources.volumeSnapshotContents),
  ]
    .map((o) => o.metadata.name)
    .filter((n) => n === csiRestoreName(uid));
  return { user, pv, helpers };
}

describe('restores of CSI snapshots (ClaimProvisioner + CsiRestores)', () => {
  it('same namespace: the CSI driver makes the volume for stork’s claim; it is handed to the user’s claim, then stork’s claim goes', async () => {
    const r = await run({ claims: [userClaim('u1')] });
    const { user, pv, helpers } = outcome(r, 'shop', 'u1');
    expect(user?.status?.phase).toBe('Bound');
    expect(user?.metadata?.finalizers ?? []).toEqual([]);
    expect(pv?.spec?.claimRef).toMatchObject({ namespace: 'shop', name: 'restore-u1', uid: 'u1' });
    expect(pv?.spec?.storageClassName).toBe('stork-snapshot-sc');
    expect(pv?.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(pv?.metadata?.labels?.[restoreForUidLabel]).toBe('u1');
    expect(helpers).toEqual([]);
    // One volume made, none deleted; the user was told what happens and when it is done.
    expect(r.log).toHaveLength(1);
    expect(r.log[0]).toMatch(/^create volume /);
    expect(r.events.map((e) => `${e.type} ${e.reason}`)).toEqual([
      'Normal Restoring',
      'Normal ProvisioningSucceeded',
    ]);
  });

  it('asks for the volume as the CSI driver needs it: the source volume’s class, the restore size, the data source, a node of the source volume', async () => {
    const r = await run({ claims: [userClaim('u2')] });
    const shadow = r.sent('create', 'persistentvolumeclaims') as PersistentVolumeClaim | undefined;
    expect(shadow?.metadata).toMatchObject({
      namespace: 'shop',
      name: csiRestoreName('u2'),
      labels: { [restoreForUidLabel]: 'u2' },
      annotations: { [restoreForClaimAnnotation]: 'restore-u2', 'volume.kubernetes.io/selected-node': 'n2' },
    });
    expect(shadow?.spec).toMatchObject({
      storageClassName: 'local',
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '2Gi' } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: csiName },
    });
  });

  it('picks a schedulable node that matches the source volume’s affinity', async () => {
    const r = await run({
      claims: [userClaim('u3')],
      nodes: [node('a-cordoned', 'n2', true), node('b', 'n1'), node('c', 'n2')],
    });
    const shadow = r.sent('create', 'persistentvolumeclaims') as PersistentVolumeClaim | undefined;
    expect(shadow?.metadata?.annotations?.['volume.kubernetes.io/selected-node']).toBe('c');
    expect(outcome(r, 'shop', 'u3').user?.status?.phase).toBe('Bound');
  });

  it('distributed snapshotting: the node whose sidecar serves the snapshot, named on the pre-provisioned content too', async () => {
    const labelled = {
      ...sourceContent,
      metadata: { ...sourceContent.metadata, labels: { [managedByLabel]: 'n9' } },
    };
    const r = await run({
      claims: [userClaim('u14', 'shop-dr')],
      restoreNamespaces: 'shop-.*',
      contents: [labelled],
      nodes: [node('n9', 'n1'), node('n2', 'n2')],
    });
    const shadow = r.sent('create', 'persistentvolumeclaims') as PersistentVolumeClaim | undefined;
    expect(shadow?.metadata?.annotations?.['volume.kubernetes.io/selected-node']).toBe('n9');
    const content = r.sent('create', 'volumesnapshotcontents') as
      { metadata?: { labels?: object } } | undefined;
    expect(content?.metadata?.labels).toMatchObject({ [managedByLabel]: 'n9' });
    expect(outcome(r, 'shop-dr', 'u14').user?.status?.phase).toBe('Bound');
  });

  it('no node can hold it: the claim stays Pending with the reason, nothing made', async () => {
    const r = await run({ claims: [userClaim('u4')], nodes: [node('b', 'n1')] });
    const { user, helpers } = outcome(r, 'shop', 'u4');
    expect(user?.status?.phase).toBe('Pending');
    expect(helpers).toEqual([]);
    expect(r.log).toEqual([]);
    expect(r.events.map((e) => e.message)).toEqual([
      `CSI snapshot shop/${csiName}: no node matches its source volume's node affinity to restore it on`,
    ]);
  });

  it('another namespace the snapshot allows: a Retain content of the same storage snapshot and a VolumeSnapshot there, both removed after', async () => {
    const r = await run({ claims: [userClaim('u5', 'shop-dr')], restoreNamespaces: 'shop-.*' });
    const { user, pv, helpers } = outcome(r, 'shop-dr', 'u5');
    expect(user?.status?.phase).toBe('Bound');
    expect(pv?.spec?.claimRef).toMatchObject({ namespace: 'shop-dr', name: 'restore-u5', uid: 'u5' });
    expect(helpers).toEqual([]);
    const content = r.sent('create', 'volumesnapshotcontents') as
      { spec?: Record<string, unknown> } | undefined;
    expect(content?.spec).toMatchObject({
      deletionPolicy: 'Retain',
      driver,
      source: { snapshotHandle: 'handle-1' },
      volumeSnapshotRef: { namespace: 'shop-dr', name: csiRestoreName('u5') },
    });
    // The source snapshot and its content are untouched.
    expect(r.api.object(csiSnapshotResources.volumeSnapshotContents, 'content-1')).toMatchObject({
      spec: { deletionPolicy: 'Delete' },
    });
    expect(r.writes.filter((w) => w === 'patch volumesnapshotcontents')).toEqual([]);
    const shadow = r.sent('create', 'persistentvolumeclaims') as PersistentVolumeClaim | undefined;
    expect(shadow?.metadata?.namespace).toBe('shop-dr');
    expect(shadow?.spec?.dataSource?.name).toBe(csiRestoreName('u5'));
  });

  it('another namespace the snapshot does not allow: ProvisioningFailed with the reason, nothing made anywhere', async () => {
    const r = await run({ claims: [userClaim('u6', 'elsewhere')], restoreNamespaces: 'shop-.*' });
    const { user, helpers } = outcome(r, 'elsewhere', 'u6');
    expect(user?.status?.phase).toBe('Pending');
    expect(user?.metadata?.finalizers ?? []).toEqual([]);
    expect(helpers).toEqual([]);
    expect(r.writes.filter((w) => w.startsWith('create'))).toEqual([]);
    expect(r.events.map((e) => `${e.reason} ${e.message}`)[0]).toMatch(
      /^ProvisioningFailed snapshot shop\/nightly cannot be restored into namespace elsewhere: it is not allowed/,
    );
  });

  // Crash points: each state a stork killed between two steps leaves behind, found by a new leader.
  it('restart with stork’s claim bound to its volume: the volume is handed over, no second claim or volume', async () => {
    const shadow = shadowClaim('u7', 'shop', { volumeName: 'pvc-shadow-u7', phase: 'Bound' });
    const r = await run({
      claims: [userClaim('u7', 'shop', { finalizers: [restoreFinalizer] }), shadow],
      volumes: [
        madeVolume('shadow-u7', { namespace: 'shop', name: shadow.metadata.name, uid: shadow.metadata.uid }),
      ],
    });
    const { user, pv, helpers } = outcome(r, 'shop', 'u7');
    expect(user?.spec?.volumeName).toBe('pvc-shadow-u7');
    expect(pv?.spec?.claimRef?.uid).toBe('u7');
    expect(helpers).toEqual([]);
    expect(r.log).toEqual([]);
    expect(r.writes.filter((w) => w === 'create persistentvolumeclaims')).toEqual([]);
  });

  it('restart after the hand-over, stork’s claim Lost: waits for the binding, then removes it; nothing made again', async () => {
    const shadow = shadowClaim('u8', 'shop', { volumeName: 'pvc-shadow-u8', phase: 'Lost' });
    const r = await run({
      claims: [userClaim('u8', 'shop', { finalizers: [restoreFinalizer] }), shadow],
      volumes: [
        madeVolume(
          'shadow-u8',
          { namespace: 'shop', name: 'restore-u8', uid: 'u8' },
          {
            labels: { [restoreForUidLabel]: 'u8' },
            className: 'stork-snapshot-sc',
          },
        ),
      ],
    });
    const { user, helpers } = outcome(r, 'shop', 'u8');
    expect(user?.spec?.volumeName).toBe('pvc-shadow-u8');
    expect(user?.metadata?.finalizers ?? []).toEqual([]);
    expect(helpers).toEqual([]);
    expect(r.log).toEqual([]);
    expect(r.writes.filter((w) => w.startsWith('create ') || w === 'patch persistentvolumes')).toEqual([]);
  });

  it('restart after the hand-over with stork’s claim already gone: no new claim (the volume labelled for it is found)', async () => {
    const r = await run({
      claims: [userClaim('u9', 'shop', { finalizers: [restoreFinalizer] })],
      volumes: [
        madeVolume(
          'shadow-u9',
          { namespace: 'shop', name: 'restore-u9', uid: 'u9' },
          {
            labels: { [restoreForUidLabel]: 'u9' },
            className: 'stork-snapshot-sc',
          },
        ),
      ],
    });
    expect(outcome(r, 'shop', 'u9').user?.spec?.volumeName).toBe('pvc-shadow-u9');
    expect(r.writes.filter((w) => w.startsWith('create '))).toEqual([]);
    expect(r.log).toEqual([]);
  });

  it('the user’s claim deleted while stork’s claim holds the volume: stork’s claim goes and the volume with it (it belongs to no one)', async () => {
    const shadow = shadowClaim('u10', 'shop', { volumeName: 'pvc-shadow-u10', phase: 'Bound' });
    const r = await run({
      claims: [userClaim('u10', 'shop', { finalizers: [restoreFinalizer], deleting: true }), shadow],
      volumes: [
        madeVolume('shadow-u10', { namespace: 'shop', name: shadow.metadata.name, uid: shadow.metadata.uid }),
      ],
    });
    expect(claimsOf(r.api, 'shop')).toEqual([]);
    expect(r.log).toEqual(['delete volume restored-shadow-u10']);
  });

  it('a claim of stork’s name that stork did not make is refused and never deleted', async () => {
    const foreign = { ...shadowClaim('u11'), metadata: { ...shadowClaim('u11').metadata, labels: {} } };
    const r = await run({ claims: [userClaim('u11'), foreign] });
    expect(r.claim('shop', csiRestoreName('u11'))).toBeDefined();
    expect(r.writes.filter((w) => w === 'delete persistentvolumeclaims')).toEqual([]);
    expect(r.events.map((e) => e.message)).toContain(
      `claim shop/${csiRestoreName('u11')} exists and was not made by stork for this claim`,
    );
  });

  it('a volume of stork’s claim bound to another claim is not touched', async () => {
    const shadow = shadowClaim('u12', 'shop', { volumeName: 'pvc-other', phase: 'Bound' });
    const other = madeVolume('other', { namespace: 'shop', name: 'someone', uid: 'someone-uid' });
    const r = await run({
      claims: [
        userClaim('u12', 'shop', { finalizers: [restoreFinalizer] }),
        shadow,
        userClaim('someone'),
      ].map((c) =>
        c.metadata?.name === 'restore-someone'
          ? {
              ...c,
              metadata: { ...c.metadata, name: 'someone', uid: 'someone-uid', annotations: {} },
              spec: { ...c.spec, storageClassName: 'local', volumeName: 'pvc-other' },
              status: { phase: 'Bound' },
            }
          : c,
      ),
      volumes: [other],
    });
    expect(r.pv('pvc-other')?.spec?.claimRef?.uid).toBe('someone-uid');
    expect(r.writes.filter((w) => w === 'patch persistentvolumes')).toEqual([]);
    expect(r.events.map((e) => e.message)).toContain(
      `volume pvc-other of claim shop/${csiRestoreName('u12')} is bound to another claim; not touching it`,
    );
  });

  it('cleanup switches a content of stork’s to Retain before deleting it, so the storage snapshot stays', async () => {
    const content = {
      metadata: { name: csiRestoreName('u13'), labels: { [restoreForUidLabel]: 'u13' } },
      spec: { deletionPolicy: 'Delete', driver, source: { snapshotHandle: 'handle-1' } },
    };
    const r = await run({
      claims: [userClaim('u13', 'shop-dr', { finalizers: [restoreFinalizer], deleting: true })],
      contents: [content],
    });
    expect(r.api.writes({ resource: 'volumesnapshotcontents' }).map((w) => w.verb)).toEqual([
      'patch',
      'delete',
    ]);
    expect(r.sent('patch', 'volumesnapshotcontents')).toMatchObject({ spec: { deletionPolicy: 'Retain' } });
  });
});

describe('CsiRestores.restore, one step', () => {
  // The PV controller may not have bound the claim yet when a new leader looks: decided on what the API
  // server has, not on a race with it.
  it('stork’s claim gone but a volume labelled for the user’s claim names it: waits, creates nothing', async () => {
    const api = new FakeKubeClient();
    api.seed(
      resources.persistentVolumes,
      madeVolume(
        'shadow-u20',
        { namespace: 'shop', name: 'restore-u20', uid: 'u20' },
        {
          labels: { [restoreForUidLabel]: 'u20' },
        },
      ),
    );
    api.seed(csiSnapshotResources.volumeSnapshots, csiSnapshot);
    api.seed(csiSnapshotResources.volumeSnapshotContents, sourceContent);
    api.seed(resources.nodes, node('n2', 'n2'));
    const restores = new CsiRestores({
      api,
      events: { record: () => undefined } as unknown as EventRecorder,
      logger: silentLogger,
      storageClasses: { get: (name) => classes.find((c) => c.metadata?.name === name) },
      volumeByHandle: () => sourcePv,
    });
    const result = await restores.restore(userClaim('u20'), { namespace: 'shop', name: csiName });
    expect(result).toMatchObject({ requeueAfterMs: expect.any(Number) as number });
    expect(api.writes()).toEqual([]);
    // Without the volume, the same step makes stork's claim (the rule above is what stops it).
    await api.delete(resources.persistentVolumes, { name: 'pvc-shadow-u20' });
    await restores.restore(userClaim('u20'), { namespace: 'shop', name: csiName });
    expect(api.object(resources.persistentVolumeClaims, csiRestoreName('u20'), 'shop')).toBeDefined();
  });
});

describe('largerQuantity', () => {
  it.each([
    ['1Gi', '2Gi', '2Gi'],
    ['3Gi', '2Gi', '3Gi'],
    ['1500M', '1Gi', '1500M'],
    [undefined, '2Gi', '2Gi'],
    ['1Gi', undefined, '1Gi'],
  ])('%s vs %s is %s', (a, b, larger) => {
    expect(largerQuantity(a, b)).toBe(larger);
  });
});
