// Discarding a CSI snapshot never handed out (a failed group's): its content goes too, whatever the
// class's deletion policy; deleting a finished one leaves the content to the policy.
import { describe, expect, it } from 'vitest';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { routedSnapshots } from '../routed-snapshots.js';
import type { VolumeSnapshots } from '../volume-snapshots.js';
import {
  csiSnapshotResources,
  CsiVolumeSnapshots,
  type CsiVolumeSnapshot,
  type CsiVolumeSnapshotContent,
} from './csi-snapshots.js';
import { snapshotBeingDeletedAnnotation } from './content-discard.js';

function world(refUid = 'snapshot-x-uid') {
  const api = new FakeKubeClient();
  const snapshot: CsiVolumeSnapshot = {
    metadata: { namespace: 'shop', name: 'group-snapshot-x', uid: 'snapshot-x-uid' },
    spec: { source: { persistentVolumeClaimName: 'a' }, volumeSnapshotClassName: 'retain' },
    status: {
      boundVolumeSnapshotContentName: 'content-x',
      readyToUse: true,
      creationTime: '2026-01-01T00:00:00Z',
    },
  };
  const content: CsiVolumeSnapshotContent = {
    // snapshot-controller's finalizer keeps it, being deleted, until the sidecar has deleted the storage.
    metadata: {
      name: 'content-x',
      finalizers: ['snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection'],
    },
    spec: {
      deletionPolicy: 'Retain',
      driver: 'hostpath.csi.k8s.io',
      volumeSnapshotRef: { uid: refUid },
    },
  };
  api.seed(csiSnapshotResources.volumeSnapshots, snapshot);
  api.seed(csiSnapshotResources.volumeSnapshotContents, content);
  const csi = new CsiVolumeSnapshots({
    api,
    volumeByHandle: () => undefined,
    seedAnnotations: () => Promise.resolve(undefined),
  });
  const policy = () =>
    api.object<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents, 'content-x')?.spec
      .deletionPolicy;
  const deleting = () =>
    api.object<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents, 'content-x')?.metadata
      .deletionTimestamp !== undefined;
  const exists = () =>
    api.object(csiSnapshotResources.volumeSnapshots, 'group-snapshot-x', 'shop') !== undefined;
  const marked = () =>
    api.object<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents, 'content-x')?.metadata
      .annotations?.[snapshotBeingDeletedAnnotation];
  return { api, csi, policy, deleting, exists, marked };
}

describe('discarding a CSI snapshot', () => {
  it('switches a retained content to Delete, deletes the snapshot, then marks the content being deleted and deletes it', async () => {
    const w = world();
    await w.csi.discardSnapshot('csi:shop/group-snapshot-x');
    expect(w.policy()).toBe('Delete');
    expect(w.exists()).toBe(false);
    // Not left to snapshot-controller, whose cache may still say Retain when it handles the deletion.
    expect(w.deleting()).toBe(true);
    // csi-snapshotter finalizes a deleted content only with this mark, which nobody else may set.
    expect(w.marked()).toBe('yes');
    const order = w.api.calls
      .filter((c) => c.verb === 'patch' || c.verb === 'delete')
      .map((c) => `${c.verb} ${c.resource}`);
    expect(order).toEqual([
      'patch volumesnapshotcontents',
      'delete volumesnapshots',
      'patch volumesnapshotcontents',
      'delete volumesnapshotcontents',
    ]);
  });

  it('a content not yet in the snapshot’s status is found by the name snapshot-controller gives it', async () => {
    const w = world();
    const snapshot = w.api.object<CsiVolumeSnapshot>(
      csiSnapshotResources.volumeSnapshots,
      'group-snapshot-x',
      'shop',
    );
    w.api.seed(csiSnapshotResources.volumeSnapshots, { ...snapshot, status: {} });
    w.api.seed(csiSnapshotResources.volumeSnapshotContents, {
      metadata: { name: 'snapcontent-snapshot-x-uid', finalizers: ['f'] },
      spec: {
        deletionPolicy: 'Retain',
        driver: 'hostpath.csi.k8s.io',
        volumeSnapshotRef: { uid: 'snapshot-x-uid' },
      },
    } satisfies CsiVolumeSnapshotContent);
    await w.csi.discardSnapshot('csi:shop/group-snapshot-x');
    const content = w.api.object<CsiVolumeSnapshotContent>(
      csiSnapshotResources.volumeSnapshotContents,
      'snapcontent-snapshot-x-uid',
    );
    expect(content?.spec.deletionPolicy).toBe('Delete');
    expect(content?.metadata.annotations?.[snapshotBeingDeletedAnnotation]).toBe('yes');
    expect(content?.metadata.deletionTimestamp).toBeDefined();
  });

  it('a content bound to another snapshot (a namesake) is neither switched nor deleted', async () => {
    const w = world('someone-else');
    await w.csi.discardSnapshot('csi:shop/group-snapshot-x');
    expect(w.exists()).toBe(false);
    expect(w.policy()).toBe('Retain');
    expect(w.deleting()).toBe(false);
    expect(w.marked()).toBeUndefined();
  });

  it('a finished snapshot deleted normally keeps its content’s policy', async () => {
    const w = world();
    await w.csi.deleteSnapshot('csi:shop/group-snapshot-x');
    expect(w.policy()).toBe('Retain');
    expect(w.exists()).toBe(false);
    expect(w.deleting()).toBe(false);
  });

  it('routed: a csi id is discarded by csi; a member without discard deletes', async () => {
    const w = world();
    const deleted: string[] = [];
    const pxd = {
      deleteSnapshot: (id: string) => {
        deleted.push(id);
        return Promise.resolve();
      },
    } as unknown as VolumeSnapshots;
    const routed = routedSnapshots([pxd, w.csi]);
    await routed.discardSnapshot?.('csi:shop/group-snapshot-x');
    await routed.discardSnapshot?.('42');
    expect(w.policy()).toBe('Delete');
    expect(deleted).toEqual(['42']);
  });
});
