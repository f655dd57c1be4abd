import type { VolumeSnapshots } from './volume-snapshots.js';

/**
 * Several drivers' snapshots as one (`--driver=pxd,csi`). A volume or snapshot id goes to the member that
 * says it owns it (`ownsVolume`, `ownsSnapshotId`); one that no member claims goes to the first member
 * that claims nothing by those calls (pxd, whose ids are the storage system's). Lookups by name ask every
 * member. Restores stay with that fallback member.
 */
export function routedSnapshots(members: readonly VolumeSnapshots[]): VolumeSnapshots {
  const [head] = members;
  if (!head) throw new Error('routed snapshots need at least one member');
  const fallback = members.find((m) => !m.ownsVolume && !m.ownsSnapshotId) ?? head;
  const byVolume = (id: string): VolumeSnapshots => members.find((m) => m.ownsVolume?.(id)) ?? fallback;
  const bySnapshot = (id: string): VolumeSnapshots => members.find((m) => m.ownsSnapshotId?.(id)) ?? fallback;
  return {
    createSnapshot: (volumeId, name, labels, signal) =>
      byVolume(volumeId).createSnapshot(volumeId, name, labels, signal),
    findSnapshot: async (name, signal) => {
      for (const member of members) {
        const found = await member.findSnapshot(name, signal);
        if (found) return found;
      }
      return undefined;
    },
    inspectSnapshot: (id, signal) => bySnapshot(id).inspectSnapshot(id, signal),
    deleteSnapshot: (id, signal) => bySnapshot(id).deleteSnapshot(id, signal),
    discardSnapshot: (id, signal) => {
      const member = bySnapshot(id);
      return member.discardSnapshot ? member.discardSnapshot(id, signal) : member.deleteSnapshot(id, signal);
    },
    restoreSnapshot: (id, name, labels, signal) => bySnapshot(id).restoreSnapshot(id, name, labels, signal),
    findVolume: (name, signal) => fallback.findVolume(name, signal),
    deleteVolume: (id, signal) => byVolume(id).deleteVolume(id, signal),
    persistentVolumeSource: (volumeId) => byVolume(volumeId).persistentVolumeSource(volumeId),
    snapshotDataSource: (snapshot) => bySnapshot(snapshot.id).snapshotDataSource(snapshot),
    snapshotIdOf: (spec) => {
      for (const member of members) {
        const id = member.snapshotIdOf(spec);
        if (id !== undefined) return id;
      }
      return undefined;
    },
    // A group is cut together only when one member holds every volume and can cut them itself.
    groupCall: (volumeIds) => {
      const member = volumeIds[0] === undefined ? undefined : byVolume(volumeIds[0]);
      if (!member || volumeIds.some((id) => byVolume(id) !== member)) return undefined;
      return member.groupCall?.(volumeIds);
    },
    ownsVolume: (id) => members.some((m) => m.ownsVolume?.(id)),
    ownsSnapshotId: (id) => members.some((m) => m.ownsSnapshotId?.(id)),
  };
}
