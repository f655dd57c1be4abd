// What stork made for a group goes: an attempt's leftovers before the next attempt or after a failure
// (nothing of it was handed out), and everything of a deleted group.
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import { getOrUndefined } from '../../k8s/errors.js';
import { resources } from '../../k8s/paths.js';
import type { WorkResult } from '../../lib/work-queue.js';
import { createdForLabels } from '../snapshot/names.js';
import type { GroupContext } from './context.js';
import { groupCallFor, groupCallLabels } from './group-call.js';
import { groupKey } from './group-refs.js';
import type { GroupMember } from './members.js';
import { groupSnapshotFinalizer, groupSnapshotUidLabel } from './names.js';
import { nativeDataSourceKey, nativeRef } from './native.js';

export class GroupCleanup {
  constructor(private readonly ctx: GroupContext) {}

  /**
   * Deletes what an attempt made: the member VolumeSnapshots (their finalizer deletes their storage
   * snapshot and data) and every storage snapshot named for this group (recorded in status, or derived
   * from the claims now), found by name: only what stork made under this group's names is ever deleted.
   */
  async discard(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    signal: AbortSignal,
  ): Promise<void> {
    const { api, snapshots } = this.ctx.options;
    const namespace = group.metadata.namespace ?? '';
    for (const member of this.memberSnapshots(group)) {
      await getOrUndefined(() =>
        api.delete(resources.volumeSnapshots, { namespace, name: member.metadata.name ?? '' }),
      );
    }
    const native = this.ctx.options.nativeGroupSnapshots;
    // A native group's snapshots go with its VolumeGroupSnapshot (snapshot-controller's, not stork's names).
    if (native) await native.discard(nativeRef(group), signal);
    const names = new Set([
      ...(group.status?.volumeSnapshots ?? [])
        .filter((e) => e.DataSource?.[nativeDataSourceKey] === undefined)
        .map((e) => e.TaskID ?? ''),
      ...members.map((m) => m.driverSnapshotName),
    ]);
    const discardSnapshot = (snapshots.discardSnapshot ?? snapshots.deleteSnapshot).bind(snapshots);
    for (const name of names) {
      if (!name) continue;
      const found = await snapshots.findSnapshot(name, signal);
      // Never handed out: nothing of it may stay, whatever a CSI class's deletion policy says.
      if (found) await discardSnapshot(found.id, signal);
    }
    // A group call names its snapshots itself, and an interrupted one's answer was never recorded: they
    // are found by this group's labels (its UID and namespace).
    const call = groupCallFor(snapshots, [
      ...members.map((m) => m.volumeId),
      ...(group.status?.volumeSnapshots ?? []).map((e) => e.ParentVolumeID ?? ''),
    ]);
    if (call) {
      const labels = groupCallLabels(group);
      const made = await call.findLabelled(
        {
          [createdForLabels.namespace]: labels[createdForLabels.namespace] ?? '',
          [createdForLabels.uid]: labels[createdForLabels.uid] ?? '',
        },
        signal,
      );
      for (const snapshot of made) await discardSnapshot(snapshot.id, signal);
    }
  }

  /** The member VolumeSnapshots of this very group (by label, and owner UID). */
  private memberSnapshots(group: GroupVolumeSnapshot): VolumeSnapshot[] {
    const uid = group.metadata.uid ?? '';
    return this.ctx.options.volumeSnapshots
      .list()
      .filter(
        (s) =>
          s.metadata.namespace === group.metadata.namespace &&
          s.metadata.labels?.[groupSnapshotUidLabel] === uid &&
          (s.metadata.ownerReferences ?? []).some((ref) => ref.uid === uid),
      );
  }

  /**
   * A deleted group: its member VolumeSnapshots are deleted (each goes once no restore needs it, with its
   * storage snapshot and data); storage snapshots no member holds yet are deleted at once.
   */
  async finalize(group: GroupVolumeSnapshot, signal: AbortSignal): Promise<WorkResult> {
    if (!(group.metadata.finalizers ?? []).includes(groupSnapshotFinalizer)) return undefined;
    const { api, snapshots } = this.ctx.options;
    const namespace = group.metadata.namespace ?? '';
    const members = this.memberSnapshots(group);
    for (const member of members) {
      await getOrUndefined(() =>
        api.delete(resources.volumeSnapshots, { namespace, name: member.metadata.name ?? '' }),
      );
    }
    const held = new Set(members.map((m) => m.metadata.name));
    for (const entry of group.status?.volumeSnapshots ?? []) {
      if (held.has(entry.VolumeSnapshotName) || !entry.TaskID) continue;
      if (entry.DataSource?.[nativeDataSourceKey] !== undefined) continue;
      const found = await snapshots.findSnapshot(entry.TaskID, signal);
      if (found) await snapshots.deleteSnapshot(found.id, signal);
    }
    // The VolumeGroupSnapshot goes as its class's policy says (snapshot-controller deletes its members).
    await this.ctx.options.nativeGroupSnapshots?.delete(nativeRef(group), signal);
    await api.patch(
      resources.groupVolumeSnapshots,
      { namespace, name: group.metadata.name ?? '' },
      {
        metadata: {
          resourceVersion: group.metadata.resourceVersion,
          finalizers: (group.metadata.finalizers ?? []).filter((f) => f !== groupSnapshotFinalizer),
        },
      },
    );
    this.ctx.options.logger.info(
      { groupSnapshot: groupKey(group), members: members.length },
      'group snapshot deleted',
    );
    return undefined;
  }
}
