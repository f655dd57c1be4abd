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

function world() {
  const api = new FakeKubeClient();
  const snapshot: CsiVolumeSnapshot = {
    metadata: { namespace: 'shop', name: 'group-snapshot-x' },
    spec: { source: { persistentVolumeClaimName: 'a' }, volumeSnapshotClassName: 'retain' },
    status: {
      boundVolumeSnapshotContentName: 'content-x',
      readyToUse: true,
      creationTime: '2026-01-01T00:00:00Z',
    },
  };
  const content: CsiVolumeSnapshotContent = {
    metadata: { name: 'content-x' },
    spec: { deletionPolicy: 'Retain', driver: 'hostpath.csi.k8s.io' },
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
  const exists = () =>
    api.object(csiSnapshotResources.volumeSnapshots, 'group-snapshot-x', 'shop') !== undefined;
  return { csi, policy, exists };
}

describe('discarding a CSI snapshot', () => {
  it('switches a retained content to Delete, then deletes the snapshot', async () => {
    const w = world();
    await w.csi.discardSnapshot('csi:shop/group-snapshot-x');
    expect(w.policy()).toBe('Delete');
    expect(w.exists()).toBe(false);
  });

  it('a finished snapshot deleted normally keeps its content’s policy', async () => {
    const w = world();
    await w.csi.deleteSnapshot('csi:shop/group-snapshot-x');
    expect(w.policy()).toBe('Retain');
    expect(w.exists()).toBe(false);
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
