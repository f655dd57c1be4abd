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
 * The annotations snapshot-controller sets on a content when the (group) snapshot bound to it is deleted;
 * csi-snapshotter acts on a deleted content only when it is there (see discardBoundContent).
 */
export const snapshotBeingDeletedAnnotation = 'snapshot.storage.kubernetes.io/volumesnapshot-being-deleted';
export const groupSnapshotBeingDeletedAnnotation =
  'groupsnapshot.storage.kubernetes.io/volumegroupsnapshot-being-deleted';

/**
 * Discards the content bound to a (group) snapshot that stork is removing because it must leave nothing
 * behind: the content is switched to the Delete policy before the snapshot is deleted (`before`), and
 * marked being deleted and deleted by name after it (`after`).
 *
 * Switching the policy and deleting the snapshot is not enough, for two reasons read in
 * external-snapshotter (v8.7):
 * - snapshot-controller decides whether a deleted snapshot takes its content from the policy in its
 *   informer cache, and a delete right after the patch can be handled before the cache has the patch: the
 *   content is then kept as Retain, unbound, for good (upstream never deletes a content whose snapshot is
 *   gone, by design).
 * - a (group) snapshot deleted before snapshot-controller put its finalizer on it (a group the storage
 *   refused at once) goes without snapshot-controller ever handling its deletion; it also looks a group's
 *   content up by the name in the group's cached status, which may not have it yet. Either way nobody
 *   marks the content being deleted, and csi-snapshotter never finalizes a deleted content without that
 *   mark: it would stay, being deleted, for good.
 *
 * So stork does what snapshot-controller does for a deleted snapshot, on the content bound to the
 * snapshot stork deleted: it sets the being-deleted annotation (snapshot-controller sets it whatever the
 * policy) and deletes the content. csi-snapshotter sees both after the policy change (one object's events
 * arrive in order), deletes the storage snapshot if the storage cut one, and removes its finalizer.
 *
 * Only a content bound to this very snapshot (its ref's UID) is touched, and only through that UID.
 */
export async function discardBoundContent(
  api: KubeClient,
  type: ResourceType,
  contentName: string,
  snapshotUid: string | undefined,
  step: 'before' | 'after',
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
  const mark = content.spec.volumeGroupSnapshotRef
    ? groupSnapshotBeingDeletedAnnotation
    : snapshotBeingDeletedAnnotation;
  if (content.metadata.annotations?.[mark] === undefined) {
    // The UID makes it a precondition: the content is still the one just read (its ref is this
    // snapshot's), not a namesake made since.
    const marked = await getOrUndefined(() =>
      api.patch(
        type,
        { name: contentName },
        { metadata: { annotations: { [mark]: 'yes' }, uid: content.metadata.uid } },
        'merge',
        { signal },
      ),
    );
    if (!marked) return;
  }
  if (content.metadata.deletionTimestamp) return;
  await ignoreNotFound(api.delete(type, { name: contentName }, { uid: content.metadata.uid, signal }));
}
