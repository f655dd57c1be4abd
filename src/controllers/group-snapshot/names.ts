// The names of the group snapshot feature: the finalizer and label stork puts on what it makes, and the
// deterministic names (derived from UIDs) that let a retry or a restarted stork find what an earlier
// attempt made instead of making it twice.
import { createHash } from 'node:crypto';
import type { OwnerReference } from '../../wire/k8s-types.js';
import {
  groupVolumeSnapshotApiVersion,
  type GroupVolumeSnapshot,
} from '../../k8s/crds/group-volume-snapshot.js';

/** Keeps a GroupVolumeSnapshot until what stork made for it is deleted. */
export const groupSnapshotFinalizer = 'stork.libopenstorage.org/group-snapshot-protection';

/** On each member VolumeSnapshot: the UID of the GroupVolumeSnapshot it belongs to. */
export const groupSnapshotUidLabel = 'stork.libopenstorage.org/group-snapshot-uid';

/** Longest Kubernetes object name (a DNS subdomain). */
const maxNameLength = 253;

/**
 * The storage system's snapshot of one claim in the group. A hash keeps it short enough to be a label
 * value too (the CSI driver finds its snapshots by a label holding the name).
 */
export function memberDriverSnapshotName(groupUid: string, claimUid: string): string {
  const digest = createHash('sha256').update(`${groupUid}/${claimUid}`).digest('hex');
  return `group-snapshot-${digest.slice(0, 32)}`;
}

/** The seed-API VolumeSnapshot of one claim in the group (Stork's naming), or undefined if too long. */
export function memberSnapshotName(
  groupName: string,
  claimName: string,
  groupUid: string,
): string | undefined {
  const name = `${groupName}-${claimName}-${groupUid}`;
  return name.length <= maxNameLength ? name : undefined;
}

/** The claim a member VolumeSnapshot name was made for (the inverse of memberSnapshotName). */
export function claimOfMemberName(
  groupName: string,
  memberName: string,
  groupUid: string,
): string | undefined {
  const prefix = `${groupName}-`;
  const suffix = `-${groupUid}`;
  if (!memberName.startsWith(prefix) || !memberName.endsWith(suffix)) return undefined;
  const claim = memberName.slice(prefix.length, memberName.length - suffix.length);
  return claim === '' ? undefined : claim;
}

/** The owner reference a member VolumeSnapshot carries (Kubernetes deletes members with the group). */
export function groupOwnerReference(group: GroupVolumeSnapshot): OwnerReference {
  return {
    apiVersion: groupVolumeSnapshotApiVersion,
    kind: 'GroupVolumeSnapshot',
    name: group.metadata.name ?? '',
    uid: group.metadata.uid ?? '',
    controller: true,
  };
}

/** Whether a VolumeSnapshot is a member of a GroupVolumeSnapshot (made and finished by its controller). */
export function isGroupMember(snapshot: {
  metadata: { ownerReferences?: readonly OwnerReference[] };
}): boolean {
  return (snapshot.metadata.ownerReferences ?? []).some(
    (ref) => ref.kind === 'GroupVolumeSnapshot' && ref.apiVersion === groupVolumeSnapshotApiVersion,
  );
}

/** The Failed message, in the words of the single snapshots' Error condition. */
export function groupSnapshotFailedMessage(cause: string): string {
  return `group snapshot failed due to err: ${cause}`;
}
