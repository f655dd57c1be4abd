// How a GroupVolumeSnapshot is named in logs and events.
import {
  groupVolumeSnapshotApiVersion,
  type GroupVolumeSnapshot,
} from '../../k8s/crds/group-volume-snapshot.js';
import { objectReference } from '../../k8s/events.js';

export function groupKey(group: GroupVolumeSnapshot): string {
  return `${group.metadata.namespace ?? ''}/${group.metadata.name ?? ''}`;
}

export function groupReference(group: GroupVolumeSnapshot) {
  return objectReference({
    ...group,
    apiVersion: groupVolumeSnapshotApiVersion,
    kind: 'GroupVolumeSnapshot',
  });
}
