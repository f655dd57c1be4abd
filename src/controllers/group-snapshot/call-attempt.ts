// A group taken by the storage system's own group snapshot (Portworx's), while the pre rule holds.
import { DriverError, DriverNotFoundError } from '../../drivers/driver.js';
import type { DriverVolumeSnapshot, GroupSnapshotCall } from '../../drivers/volume-snapshots.js';
import type { GroupMemberSnapshotStatus, GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import { errorText } from '../../lib/errors.js';
import type { AfterSnapshot } from '../snapshot/hooks.js';
import type { GroupCleanup } from './cleanup.js';
import type { GroupContext } from './context.js';
import { GroupFailed } from './failure.js';
import { groupCallLabels } from './group-call.js';
import type { GroupMember } from './members.js';
import type { GroupRules } from './rules.js';

export class CallAttempt {
  constructor(
    private readonly ctx: GroupContext,
    private readonly rules: GroupRules,
    private readonly cleanup: GroupCleanup,
  ) {}

  /**
   * The storage system's group snapshot while the pre rule holds: one call, every volume at one point in
   * time, all or nothing; then the post rule. The snapshots carry the group's labels, by which a restart
   * finds (and discards) what an interrupted call made before its answer was recorded. Returns the group at
   * PostSnapshot, for its completion.
   */
  async takeByCall(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    call: GroupSnapshotCall,
    planned: readonly GroupMemberSnapshotStatus[],
    after: AfterSnapshot,
    signal: AbortSignal,
  ): Promise<GroupVolumeSnapshot> {
    let taken: DriverVolumeSnapshot[];
    try {
      if (group.spec.preExecRule) group = await this.ctx.patchStatus(group, { stage: 'Snapshot' });
      taken = await call.snapshotGroup(
        members.map((m) => m.volumeId),
        groupCallLabels(group),
        signal,
      );
    } catch (error) {
      group = await this.rules.endWithoutCut(group, after, signal);
      await this.cleanup.discard(group, members, signal);
      if (error instanceof DriverError && !(error instanceof DriverNotFoundError) && !signal.aborted) {
        // The storage system could not answer now: nothing stays, and the whole group is taken again.
        this.ctx.record(
          group,
          'Warning',
          'GroupSnapshotRetrying',
          `the group snapshot could not be taken yet (retrying): ${errorText(error)}`,
        );
        throw error;
      }
      if (signal.aborted) throw error;
      throw new GroupFailed(errorText(error));
    }
    group = await this.rules.postRuleAfterCut(group, after, signal);
    group = await this.ctx.patchStatus(group, {
      stage: 'PostSnapshot',
      status: 'InProgress',
      volumeSnapshots: planned.map((entry, i) => {
        const snapshot = taken[i] as DriverVolumeSnapshot;
        return {
          ...entry,
          TaskID: snapshot.name,
          DataSource: this.ctx.options.snapshots.snapshotDataSource(snapshot),
        };
      }),
    });
    this.ctx.record(
      group,
      'Normal',
      'GroupSnapshotCut',
      `${members.length} snapshot(s) cut by the storage system in one group snapshot: ` +
        members
          .slice(0, 20)
          .map((m) => m.claimName)
          .join(', '),
    );
    return group;
  }
}
