// A group taken natively: one CSI VolumeGroupSnapshot cut while the pre rule holds (the storage system
// cuts every volume at one point in time), and its member snapshots read back once snapshot-controller
// made them.
import { CsiSnapshotFailed } from '../../drivers/csi/csi-snapshots.js';
import type { DriverVolumeSnapshot } from '../../drivers/volume-snapshots.js';
import type { GroupMemberSnapshotStatus, GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import type { LabelSelector } from '../../wire/k8s-types.js';
import type { AfterSnapshot } from '../snapshot/hooks.js';
import type { GroupCleanup } from './cleanup.js';
import type { GroupContext } from './context.js';
import { GroupFailed } from './failure.js';
import { PrecheckFailed, type GroupMember } from './members.js';
import { claimOfMemberName, groupSnapshotUidLabel } from './names.js';
import {
  nativeChoice,
  nativeDataSourceKey,
  nativeRef,
  wantedGroupClass,
  type NativeGroupSnapshots,
} from './native.js';
import type { GroupRules } from './rules.js';

/** A native group snapshot planned for an attempt. */
export interface NativePlan {
  readonly ref: { namespace: string; name: string };
  readonly className: string;
  readonly selector: LabelSelector;
}

export class NativeAttempt {
  constructor(
    private readonly ctx: GroupContext,
    private readonly rules: GroupRules,
    private readonly cleanup: GroupCleanup,
  ) {}

  /**
   * A native group snapshot for these members, when the claims' CSI driver has a VolumeGroupSnapshotClass
   * (the one the group names, else the driver's default) and the selector can be handed over as it is;
   * undefined for the held fallback. A class the user named must be usable, or the group fails.
   */
  async nativePlan(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    signal: AbortSignal,
  ): Promise<NativePlan | 'wait' | undefined> {
    const native = this.ctx.options.nativeGroupSnapshots;
    const wanted = wantedGroupClass(group);
    const csiSnapshots = this.ctx.options.snapshots.ownsSnapshotId?.('csi:namespace/name') === true;
    if (!native || !csiSnapshots) {
      if (wanted !== undefined)
        throw new PrecheckFailed(
          `a VolumeGroupSnapshotClass is named (${wanted.slice(0, 80)}) but stork does not take CSI snapshots`,
        );
      return undefined;
    }
    const choice = nativeChoice(group, members, {
      claims: this.ctx.options.claims.list(),
      volume: (name) => this.ctx.options.volumes.get(name),
    });
    if (!choice.native) {
      if (wanted !== undefined)
        throw new PrecheckFailed(
          `VolumeGroupSnapshotClass ${wanted.slice(0, 80)} cannot be used: ${choice.reason}`,
        );
      return undefined;
    }
    let className: string | undefined;
    try {
      className = await native.classFor(choice.driver, wanted, signal);
    } catch (error) {
      if (error instanceof CsiSnapshotFailed) throw new PrecheckFailed(error.message);
      throw error;
    }
    if (!className) return undefined;
    const ref = nativeRef(group);
    if (await native.exists(ref, signal)) return 'wait';
    return { ref, className, selector: choice.selector };
  }

  /**
   * The native cut while the pre rule holds: one VolumeGroupSnapshot; then the post rule. Returns the group
   * at PostSnapshot, for its completion.
   */
  async takeNative(
    group: GroupVolumeSnapshot,
    members: readonly GroupMember[],
    plan: NativePlan,
    planned: readonly GroupMemberSnapshotStatus[],
    after: AfterSnapshot,
    signal: AbortSignal,
  ): Promise<GroupVolumeSnapshot> {
    const native = this.ctx.options.nativeGroupSnapshots as NativeGroupSnapshots;
    try {
      if (group.spec.preExecRule) group = await this.ctx.patchStatus(group, { stage: 'Snapshot' });
      await native.cut(
        plan.ref,
        {
          selector: plan.selector,
          className: plan.className,
          labels: { [groupSnapshotUidLabel]: group.metadata.uid ?? '' },
        },
        signal,
      );
    } catch (error) {
      group = await this.rules.endWithoutCut(group, after, signal);
      await this.cleanup.discard(group, members, signal);
      if (error instanceof CsiSnapshotFailed) throw new GroupFailed(error.message);
      // The API server could not answer now: nothing stays, and the whole group is taken again.
      throw error;
    }
    group = await this.rules.postRuleAfterCut(group, after, signal);
    group = await this.ctx.patchStatus(group, {
      stage: 'PostSnapshot',
      status: 'InProgress',
      volumeSnapshots: planned.map((entry) => ({
        ...entry,
        DataSource: { [nativeDataSourceKey]: plan.ref },
      })),
    });
    this.ctx.record(
      group,
      'Normal',
      'GroupSnapshotCut',
      `${members.length} snapshot(s) cut in VolumeGroupSnapshot ${plan.ref.name} (class ${plan.className})`,
    );
    return group;
  }

  /**
   * A native group's members once the group snapshot and each member snapshot are ready (undefined while
   * not yet), in the order of the group's entries, and the DataSource key that names the group snapshot.
   */
  async nativeMembers(
    group: GroupVolumeSnapshot,
    signal: AbortSignal,
  ): Promise<{ found: DriverVolumeSnapshot[]; source: Record<string, unknown> } | undefined> {
    const native = this.ctx.options.nativeGroupSnapshots;
    const ref = nativeRef(group);
    const what = `the VolumeGroupSnapshot ${ref.namespace}/${ref.name}`;
    if (!native) throw new GroupFailed(`${what} cannot be read: stork does not take CSI snapshots`);
    const state = await native.state(ref, signal);
    if (state.phase === 'gone') throw new GroupFailed(`${what} is gone`);
    if (state.phase === 'failed') throw new GroupFailed(state.cause);
    if (state.phase === 'pending') return undefined;
    const found: DriverVolumeSnapshot[] = [];
    for (const entry of group.status?.volumeSnapshots ?? []) {
      const claim = claimOfMemberName(
        group.metadata.name ?? '',
        entry.VolumeSnapshotName ?? '',
        group.metadata.uid ?? '',
      );
      const snapshot = claim ? state.members.get(claim) : undefined;
      // snapshot-controller makes the members once the group is cut; not there yet, or not ready: later.
      if (!snapshot) return undefined;
      if (snapshot.failure !== undefined) throw new GroupFailed(snapshot.failure);
      if (!snapshot.ready) return undefined;
      found.push(snapshot);
    }
    return { found, source: { [nativeDataSourceKey]: ref } };
  }
}
