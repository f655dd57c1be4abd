// Table-driven cases of the snapshot controller over the fake API server (see testing.ts).
import type { PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import { createdForLabels, currentCondition, snapshotDataName, snapshotFinalizer } from './names.js';
import { SnapshotController } from './snapshot-controller.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { FakeStorage, runUntilSettled, type World } from './testing.js';

const boundClaim: PersistentVolumeClaim = {
  metadata: { namespace: 'shop', name: 'data' },
  spec: { volumeName: 'pv-data' },
  status: { phase: 'Bound' },
};
const pendingClaim: PersistentVolumeClaim = {
  metadata: { namespace: 'shop', name: 'pending' },
  spec: {},
  status: { phase: 'Pending' },
};
const volume: PersistentVolume = {
  metadata: { name: 'pv-data' },
  spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: 'vol-data' } },
};
const snapshotOf = (
  claim: string,
  uid: string,
  extra: Partial<VolumeSnapshot['metadata']> = {},
): VolumeSnapshot => ({
  metadata: { namespace: 'shop', name: `snap-${uid}`, uid, ...extra },
  spec: { persistentVolumeClaimName: claim },
});
const deleting = { finalizers: [snapshotFinalizer], deletionTimestamp: '2026-01-01T00:00:00Z' };
const dataOf = (uid: string, snapshotId: string): VolumeSnapshotData => ({
  metadata: { name: snapshotDataName(uid) },
  spec: {
    portworxVolume: { snapshotId },
    volumeSnapshotRef: { kind: 'VolumeSnapshot', namespace: 'shop', name: `snap-${uid}`, uid },
  },
});
const restoringFrom = (snapshot: string): PersistentVolumeClaim => ({
  metadata: {
    namespace: 'shop',
    name: 'restoring',
    annotations: { 'snapshot.alpha.kubernetes.io/snapshot': snapshot },
  },
  spec: { storageClassName: 'stork-snapshot-sc' },
  status: { phase: 'Pending' },
});

interface Case {
  readonly name: string;
  readonly world: World;
  /** Driver snapshots there at the start (id). */
  readonly driverSnapshots?: readonly string[];
  readonly snapshot: string;
  /** The snapshot's last condition at the end (`type: message`), or `gone`. */
  readonly state: string;
  readonly finalizer?: boolean;
  readonly storageWrites: readonly string[];
  /** Whether its VolumeSnapshotData exists at the end. */
  readonly data: boolean;
  readonly events?: readonly string[];
}

const cases: Case[] = [
  {
    name: 'a snapshot of a bound claim: the driver snapshot, its data, then Ready, protected by the finalizer',
    world: { claims: [boundClaim], volumes: [volume], volumeSnapshots: [snapshotOf('data', 'u1')] },
    snapshot: 'snap-u1',
    state: 'Ready: Snapshot created successfully and it is ready',
    finalizer: true,
    storageWrites: ['snapshot vol-data as snapshot-u1'],
    data: true,
  },
  {
    name: 'a snapshot of a missing claim fails with Stork’s message, and takes nothing',
    world: { volumeSnapshots: [snapshotOf('missing', 'u2')] },
    snapshot: 'snap-u2',
    state: 'Error: snapshot failed due to err: PersistentVolumeClaim shop/missing not found',
    finalizer: true,
    storageWrites: [],
    data: false,
    events: [
      'Warning SnapshotFailed snapshot failed due to err: PersistentVolumeClaim shop/missing not found',
    ],
  },
  {
    name: 'a snapshot of an unbound claim fails',
    world: { claims: [pendingClaim], volumeSnapshots: [snapshotOf('pending', 'u3')] },
    snapshot: 'snap-u3',
    state: 'Error: snapshot failed due to err: PersistentVolumeClaim shop/pending is not bound to a volume',
    finalizer: true,
    storageWrites: [],
    data: false,
  },
  {
    name: 'a deleted snapshot: its driver snapshot and data go, then the snapshot',
    world: {
      claims: [boundClaim],
      volumes: [volume],
      volumeSnapshots: [snapshotOf('data', 'u4', deleting)],
      snapshotData: [dataOf('u4', 'sid-4')],
    },
    driverSnapshots: ['sid-4'],
    snapshot: 'snap-u4',
    state: 'gone',
    storageWrites: ['delete snapshot sid-4'],
    data: false,
  },
  {
    name: 'a deleted snapshot a pending claim restores from waits, and keeps its data',
    world: {
      claims: [boundClaim, restoringFrom('snap-u5')],
      volumes: [volume],
      volumeSnapshots: [snapshotOf('data', 'u5', deleting)],
      snapshotData: [dataOf('u5', 'sid-5')],
    },
    driverSnapshots: ['sid-5'],
    snapshot: 'snap-u5',
    state: 'none',
    finalizer: true,
    storageWrites: [],
    data: true,
    events: [
      'Normal SnapshotInUse Snapshot is a restore source of claim(s) shop/restoring that are not bound yet; it is deleted once they are',
    ],
  },
  {
    name: 'a data object made for another snapshot of the same name (another UID) is not deleted with it',
    world: {
      volumeSnapshots: [snapshotOf('data', 'u6', deleting)],
      snapshotData: [
        {
          ...dataOf('u6', 'sid-6'),
          spec: {
            ...dataOf('u6', 'sid-6').spec,
            volumeSnapshotRef: {
              kind: 'VolumeSnapshot',
              namespace: 'shop',
              name: 'snap-u6',
              uid: 'someone-else',
            },
          },
        },
      ],
    },
    driverSnapshots: ['sid-6'],
    snapshot: 'snap-u6',
    state: 'gone',
    storageWrites: [],
    data: true,
  },
];

const fakeApi = () =>
  new FakeKubeClient({ statusSubresources: [resources.volumeSnapshots, resources.volumeSnapshotDatas] });

describe('SnapshotController (table)', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const storage = new FakeStorage();
      for (const id of c.driverSnapshots ?? []) storage.addSnapshot({ id });
      const result = await runUntilSettled(fakeApi(), c.world, storage, (deps) => [
        new SnapshotController({ ...deps, pollIntervalMs: 10, resyncIntervalMs: 50 }),
      ]);
      const snapshot = result.snapshot('shop', c.snapshot);
      const last = snapshot ? currentCondition(snapshot.status?.conditions) : undefined;
      expect(snapshot ? (last ? `${last.type}: ${last.message ?? ''}` : 'none') : 'gone').toBe(c.state);
      if (snapshot)
        expect(snapshot.metadata.finalizers?.includes(snapshotFinalizer) ?? false).toBe(c.finalizer ?? false);
      expect(storage.log).toEqual(c.storageWrites);
      const uid = c.snapshot.replace('snap-', '');
      expect(result.data(snapshotDataName(uid)) !== undefined).toBe(c.data);
      if (c.events) expect(result.events.map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual(c.events);
    });
  }

  it('labels the driver snapshot with the VolumeSnapshot it was taken for (Stork’s labels)', async () => {
    const storage = new FakeStorage();
    await runUntilSettled(
      fakeApi(),
      { claims: [boundClaim], volumes: [volume], volumeSnapshots: [snapshotOf('data', 'u7')] },
      storage,
      (deps) => [new SnapshotController(deps)],
    );
    const [taken] = [...storage.snapshots.values()];
    expect(taken?.labels).toEqual({
      [createdForLabels.namespace]: 'shop',
      [createdForLabels.name]: 'snap-u7',
      [createdForLabels.uid]: 'u7',
    });
  });
});
