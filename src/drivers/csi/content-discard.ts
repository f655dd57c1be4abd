import { getOrUndefined, ignoreNotFound } from '../../k8s/errors.js';
import type { KubeClient } from '../../k8s/client.js';
import type { ResourceType } from '../../k8s/paths.js';
import type { ObjectMeta } from '../../wire/k8s-types.js';

/** A VolumeSnapshotContent or VolumeGroupSnapshotContent, as far as discarding it needs. */
interface BoundContent {
  metadata: ObjectMeta;
  spec: {
    deletionPolicy?: string;
    volumeSnapshotRef?: { uid?: string };
    volumeGroupSnapshotRef?: { uid?: string };
  };
  status?: { snapshotHandle?: string; volumeGroupSnapshotHandle?: string };
}

/**
 * Discards the content bound to a (group) snapshot that stork is removing because it must leave nothing
 * behind: the content is switched to the Delete policy before the snapshot is deleted, and deleted by name
 * after it.
 *
 * Switching the policy alone is not enough. snapshot-controller decides whether a deleted snapshot takes
 * its content from the policy in its informer cache, and a delete right after the patch can be handled
 * before the cache has the patch: the content is then kept as Retain, unbound, for good (upstream never
 * deletes a content whose snapshot is gone, by design). Deleting the content ourselves closes that race:
 * csi-snapshotter sees the deletion after the policy change (one object's events arrive in order) and
 * deletes the storage snapshot once snapshot-controller marks the content being deleted, as it does for a
 * deleted snapshot whatever the policy.
 *
 * Only a content bound to this very snapshot (its ref's UID) is touched, and only through that UID.
 * `after-uncut` deletes it only if the storage never cut it (no handle): a group's content that was cut
 * is left to snapshot-controller and its policy (an end-to-end run once saw a cut group content deleted
 * this way stay with its storage snapshot; not understood yet), an uncut one holds nothing on the
 * storage and would otherwise stay.
 */
export async function discardBoundContent(
  api: KubeClient,
  type: ResourceType,
  contentName: string,
  snapshotUid: string | undefined,
  step: 'before' | 'after' | 'after-uncut',
  signal?: AbortSignal,
): Promise<void> {
  if (!snapshotUid) return;
  const content = await getOrUndefined(() => api.get<BoundContent>(type, { name: contentName }, { signal }));
  if (!content) return;
  const ref = content.spec.volumeSnapshotRef ?? content.spec.volumeGroupSnapshotRef;
  if (ref?.uid !== snapshotUid) return;
  if (step === 'before') {
    if (content.spec.deletionPolicy === 'Delete') return;
    await ignoreNotFound(
      api.patch(type, { name: contentName }, { spec: { deletionPolicy: 'Delete' } }, 'merge', { signal }),
    );
    return;
  }
  if (content.metadata.deletionTimestamp) return;
  if (step === 'after-uncut' && (content.status?.snapshotHandle || content.status?.volumeGroupSnapshotHandle))
    return;
  await ignoreNotFound(api.delete(type, { name: contentName }, { uid: content.metadata.uid, signal }));
}
