// The storage system's own group snapshot (Portworx's): whether it can cut a group's volumes in one call,
// and the labels by which what a call made is found again.
import type { GroupSnapshotCall, VolumeSnapshots } from '../../drivers/volume-snapshots.js';
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import { createdForLabels } from '../snapshot/names.js';

/** The storage system's group snapshot for these volumes, if it has one (none for no volume). */
export function groupCallFor(
  snapshots: VolumeSnapshots,
  volumeIds: readonly string[],
): GroupSnapshotCall | undefined {
  const ids = [...new Set(volumeIds.filter((id) => id !== ''))];
  return ids.length === 0 ? undefined : snapshots.groupCall?.(ids);
}

/** The labels a group call puts on every snapshot it makes: the group's namespace, name and UID. */
export function groupCallLabels(group: GroupVolumeSnapshot): Record<string, string> {
  return {
    [createdForLabels.namespace]: group.metadata.namespace ?? '',
    [createdForLabels.name]: group.metadata.name ?? '',
    [createdForLabels.uid]: group.metadata.uid ?? '',
  };
}
