import type { PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import { resources } from '../../k8s/paths.js';
import { ClaimProvisioner } from './claim-provisioner.js';
import { restoredVolumeName, restoreFinalizer, snapshotDataName } from './names.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { FakeStorage, runUntilSettled, type World } from './testing.js';
import { provisionedByStork } from './volume-reclaimer.js';

const snapshotUid = 'snap-uid';
const readySnapshot: VolumeSnapshot = {
  metadata: { namespace: 'shop', name: 'nightly', uid: snapshotUid },
  spec: { persistentVolumeClaimName: 'data', snapshotDataName: snapshotDataName(snapshotUid) },
  status: { conditions: [{ type: 'Ready', status: 'True' }] },
};
const data: VolumeSnapshotData = {
  metadata: { name: snapshotDataName(snapshotUid) },
  spec: {
    portworxVolume: { snapshotId: 'sid-1' },
    volumeSnapshotRef: { kind: 'VolumeSnapshot', namespace: 'shop', name: 'nightly', uid: snapshotUid },
  },
};
const storkClass = {
  metadata: { name: 'stork-snapshot-sc' },
  provisioner: 'stork-snapshot',
  reclaimPolicy: 'Delete',
};

function claim(uid: string, extra: { finalizers?: string[]; deleting?: boolean; className?: string } = {}) {
  return {
    metadata: {
      namespace: 'shop',
      name: `restore-${uid}`,
      uid,
      annotations: { 'snapshot.alpha.kubernetes.io/snapshot': 'nightly' },
      ...(extra.finalizers ? { finalizers: extra.finalizers } : {}),
      ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      storageClassName: extra.className ?? 'stork-snapshot-sc',
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '1Gi' } },
    },
    status: { phase: 'Pending' },
  } satisfies PersistentVolumeClaim;
}

const restoredPv = (uid: string): PersistentVolume => ({
  metadata: {
    name: restoredVolumeName(uid),
    annotations: {
      'pv.kubernetes.io/provisioned-by': 'stork-snapshot',
      snapshotProvisionerIdentity: 'stork',
    },
  },
  spec: {
    csi: { driver: 'pxd.portworx.com', volumeHandle: 'vol-x' },
    persistentVolumeReclaimPolicy: 'Delete',
  },
});

interface Case {
  readonly name: string;
  readonly world: World;
  /** Driver volumes there at the start, by name. */
  readonly volumesBefore?: readonly string[];
  readonly snapshotReady?: boolean;
  /** Driver volume names there at the end. */
  readonly volumesAfter: readonly string[];
  /** The storage writes made, with ids replaced by `*`. */
  readonly storageWrites: readonly string[];
  /** Each claim at the end: its finalizers, or `gone`. */
  readonly claimsAfter: Readonly<Record<string, readonly string[] | 'gone'>>;
  /** PV names there at the end. */
  readonly pvsAfter: readonly string[];
  readonly events?: readonly string[];
}

const base = { storageClasses: [storkClass], volumeSnapshots: [readySnapshot], snapshotData: [data] };

const cases: Case[] = [
  {
    name: 'restores a pending claim from a ready snapshot: a clone, a PV pre-bound to it, and lets the claim go',
    world: { ...base, claims: [claim('u1')] },
    volumesAfter: ['pvc-u1'],
    storageWrites: ['restore pvc-u1 from sid-1'],
    claimsAfter: { 'restore-u1': [] },
    pvsAfter: ['pvc-u1'],
    events: [
      'Normal ProvisioningSucceeded Successfully provisioned volume pvc-u1 from snapshot shop/nightly',
    ],
  },
  {
    name: 'a snapshot not ready yet: nothing made, the claim is not held, the user is told why',
    world: { ...base, claims: [claim('u2')], volumeSnapshots: [{ ...readySnapshot, status: {} }] },
    volumesAfter: [],
    storageWrites: [],
    claimsAfter: { 'restore-u2': [] },
    pvsAfter: [],
    events: ['Warning ProvisioningFailed snapshot shop/nightly is not ready yet'],
  },
  {
    name: 'a held claim deleted before its PV existed (a new leader, nothing in memory): its clone is deleted, then the claim goes',
    world: { ...base, claims: [claim('u3', { finalizers: [restoreFinalizer], deleting: true })] },
    volumesBefore: ['pvc-u3'],
    volumesAfter: [],
    storageWrites: ['delete volume *'],
    claimsAfter: { 'restore-u3': 'gone' },
    pvsAfter: [],
  },
  {
    name: 'a held claim deleted after its PV was made: the volume stays for the PV’s reclaim policy',
    world: {
      ...base,
      claims: [claim('u4', { finalizers: [restoreFinalizer], deleting: true })],
      volumes: [restoredPv('u4')],
    },
    volumesBefore: ['pvc-u4'],
    volumesAfter: ['pvc-u4'],
    storageWrites: [],
    claimsAfter: { 'restore-u4': 'gone' },
    pvsAfter: ['pvc-u4'],
  },
  {
    name: 'a volume named after a deleted claim stork does not hold is never deleted (no guess)',
    world: {
      ...base,
      claims: [claim('u5', { finalizers: ['kubernetes.io/pvc-protection'], deleting: true })],
    },
    volumesBefore: ['pvc-u5'],
    volumesAfter: ['pvc-u5'],
    storageWrites: [],
    claimsAfter: { 'restore-u5': ['kubernetes.io/pvc-protection'] },
    pvsAfter: [],
  },
  {
    name: 'a claim of another class is left alone',
    world: { ...base, claims: [claim('u6', { className: 'px' })] },
    volumesAfter: [],
    storageWrites: [],
    claimsAfter: { 'restore-u6': [] },
    pvsAfter: [],
  },
  {
    name: 'held with its clone made but no PV (stork stopped in between): the PV is made from that clone, no second one',
    world: { ...base, claims: [claim('u7', { finalizers: [restoreFinalizer] })] },
    volumesBefore: ['pvc-u7'],
    volumesAfter: ['pvc-u7'],
    storageWrites: [],
    claimsAfter: { 'restore-u7': [] },
    pvsAfter: ['pvc-u7'],
  },
];

const fakeApi = () =>
  new FakeKubeClient({ statusSubresources: [resources.volumeSnapshots, resources.volumeSnapshotDatas] });

describe('ClaimProvisioner', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const storage = new FakeStorage();
      storage.addSnapshot({ id: 'sid-1', ready: c.snapshotReady ?? true });
      for (const name of c.volumesBefore ?? []) storage.addVolume(name);
      const result = await runUntilSettled(fakeApi(), c.world, storage, (deps) => [
        new ClaimProvisioner({ ...deps, retryDelayMs: 10, maxRetryDelayMs: 20 }),
      ]);
      expect([...storage.volumes.values()].map((v) => v.name).sort()).toEqual([...c.volumesAfter].sort());
      expect(storage.log.map((l) => l.replace(/vol-\d+/g, '*'))).toEqual(c.storageWrites);
      for (const [name, expected] of Object.entries(c.claimsAfter)) {
        const pvc = result.claim('shop', name);
        expect(pvc ? (pvc.metadata?.finalizers ?? []) : 'gone').toEqual(expected);
      }
      const pvs = result.api.objects<PersistentVolume>(resources.persistentVolumes);
      expect(pvs.map((pv) => pv.metadata?.name).sort()).toEqual([...c.pvsAfter].sort());
      if (c.events) expect(result.events.map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual(c.events);
    });
  }

  it('writes the PV as the external provisioning protocol wants it: pre-bound to the claim’s UID, ours', async () => {
    const storage = new FakeStorage();
    storage.addSnapshot({ id: 'sid-1' });
    const result = await runUntilSettled(fakeApi(), { ...base, claims: [claim('u8')] }, storage, (deps) => [
      new ClaimProvisioner(deps),
    ]);
    const pv = result.pv('pvc-u8');
    expect(pv?.spec?.claimRef).toMatchObject({ namespace: 'shop', name: 'restore-u8', uid: 'u8' });
    expect(pv?.spec?.persistentVolumeReclaimPolicy).toBe('Delete');
    expect(pv && provisionedByStork(pv)).toBe(true);
    // The claim was held while its volume was made: a finalizer patch came before the PV was created.
    const writes = result.api.writes().map((w) => `${w.verb} ${w.resource}`);
    const held = writes.indexOf('patch persistentvolumeclaims');
    expect(held).toBeGreaterThanOrEqual(0);
    expect(held).toBeLessThan(writes.indexOf('create persistentvolumes'));
  });
});
