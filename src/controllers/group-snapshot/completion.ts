// A group whose snapshots are cut: it waits until every snapshot is done, then each claim gets its
// VolumeSnapshot and data, and the group is Successful.
import type { DriverVolumeSnapshot } from '../../drivers/volume-snapshots.js';
import type { GroupMemberSnapshotStatus, GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import type { WorkResult } from '../../lib/work-queue.js';
import { condition } from '../snapshot/names.js';
import type { GroupContext } from './context.js';
import { GroupFailed } from './failure.js';
import { groupKey } from './group-refs.js';
import { makeMember } from './make-member.js';
import { cutNatively } from './native.js';
import type { NativeAttempt } from './native-attempt.js';

export class GroupCompletion {
  constructor(
    private readonly ctx: GroupContext,
    private readonly native: NativeAttempt,
  ) {}

  /** Waits until every snapshot is done, then makes each claim's VolumeSnapshot and data; Successful. */
  async complete(group: GroupVolumeSnapshot, signal: AbortSignal): Promise<WorkResult> {
    const { snapshots } = this.ctx.options;
    const entries = group.status?.volumeSnapshots ?? [];
    if (entries.length === 0) throw new GroupFailed('the group snapshot lists no snapshots');
    if (cutNatively(group)) {
      const native = await this.native.nativeMembers(group, signal);
      if (!native) return { requeueAfterMs: this.ctx.options.pollIntervalMs ?? 2000 };
      return this.finish(group, native.found, native.source);
    }
    const found: DriverVolumeSnapshot[] = [];
    for (const entry of entries) {
      const snapshot = await snapshots.findSnapshot(entry.TaskID ?? '', signal);
      if (!snapshot)
        throw new GroupFailed(
          `the snapshot ${entry.TaskID ?? ''} of volume ${entry.ParentVolumeID ?? ''} is gone`,
        );
      if (snapshot.failure !== undefined) throw new GroupFailed(snapshot.failure);
      found.push(snapshot);
    }
    if (found.some((s) => !s.ready)) return { requeueAfterMs: this.ctx.options.pollIntervalMs ?? 2000 };
    return this.finish(group, found);
  }

  /** Every snapshot is done: each claim's VolumeSnapshot and data, then Successful. */
  private async finish(
    group: GroupVolumeSnapshot,
    found: readonly DriverVolumeSnapshot[],
    extraSource?: Record<string, unknown>,
  ): Promise<WorkResult> {
    const { snapshots } = this.ctx.options;
    const entries = group.status?.volumeSnapshots ?? [];
    const ready = condition('Ready', 'Snapshot created successfully and it is ready', 'SnapshotReady');
    const done: GroupMemberSnapshotStatus[] = [];
    for (const [i, entry] of entries.entries()) {
      const snapshot = found[i] as DriverVolumeSnapshot;
      await makeMember(this.ctx.options, group, entry.VolumeSnapshotName ?? '', snapshot);
      done.push({
        ...entry,
        ...(extraSource ? { TaskID: snapshot.name } : {}),
        DataSource: { ...snapshots.snapshotDataSource(snapshot), ...extraSource },
        Conditions: [ready],
      });
    }
    await this.ctx.patchStatus(group, {
      stage: 'Final',
      status: 'Successful',
      volumeSnapshots: done,
      conditions: [condition('Ready', `${done.length} snapshot(s) ready`, 'GroupSnapshotReady')],
    });
    this.ctx.record(group, 'Normal', 'GroupSnapshotSuccessful', `${done.length} snapshot(s) ready`);
    this.ctx.options.logger.info(
      { groupSnapshot: groupKey(group), members: done.length },
      'group snapshot successful',
    );
    return undefined;
  }
}
