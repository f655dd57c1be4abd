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
  return { api, csi, policy, deleting, exists };
}

describe('discarding a CSI snapshot', () => {
  it('switches a retained content to Delete, deletes the snapshot, then deletes the content itself', async () => {
    const w = world();
    await w.csi.discardSnapshot('csi:shop/group-snapshot-x');
    expect(w.policy()).toBe('Delete');
    expect(w.exists()).toBe(false);
    // Not left to snapshot-controller, whose cache may still say Retain when it handles the deletion.
    expect(w.deleting()).toBe(true);
    const order = w.api.calls
      .filter((c) => c.verb === 'patch' || c.verb === 'delete')
      .map((c) => `${c.verb} ${c.resource}`);
    expect(order).toEqual([
      'patch volumesnapshotcontents',
      'delete volumesnapshots',
      'delete volumesnapshotcontents',
    ]);
  });

  it('a content bound to another snapshot (a namesake) is neither switched nor deleted', async () => {
    const w = world('someone-else');
    await w.csi.discardSnapshot('csi:shop/group-snapshot-x');
    expect(w.exists()).toBe(false);
    expect(w.policy()).toBe('Retain');
    expect(w.deleting()).toBe(false);
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
