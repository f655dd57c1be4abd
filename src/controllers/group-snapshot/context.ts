// What the group snapshot controller's parts share: its options, its rules, and the two ways they write
// to a group (its status and its events).
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import { resources } from '../../k8s/paths.js';
import type { SnapshotDependencies, InformerView } from '../snapshot/dependencies.js';
import { noSnapshotHooks, type SnapshotHooks } from '../snapshot/hooks.js';
import { groupReference } from './group-refs.js';
import type { MemberLookup } from './members.js';
import type { NativeGroupSnapshots } from './native.js';

export interface GroupSnapshotControllerOptions extends SnapshotDependencies {
  readonly groups: InformerView<GroupVolumeSnapshot>;
  /** The pre- and post-exec rules, run for the group (SnapshotRules over GroupVolumeSnapshots). */
  readonly hooks?: SnapshotHooks;
  readonly resyncIntervalMs?: number;
  /** How often a group whose snapshots are not done yet is looked at (default 2 s). */
  readonly pollIntervalMs?: number;
  /** How long a group with no matching claim waits before it looks again (default 10 s). */
  readonly waitForClaimsMs?: number;
  /** The pause before a failed group is tried again, while it has retries left (default 5 s). */
  readonly retryDelayMs?: number;
  /**
   * Native group snapshots (CSI VolumeGroupSnapshots): used for a group whose claims' driver has a
   * VolumeGroupSnapshotClass; without it (or without a class) every claim is snapshotted on its own
   * while the pre rule holds.
   */
  readonly nativeGroupSnapshots?: NativeGroupSnapshots;
}

export type Status = NonNullable<GroupVolumeSnapshot['status']>;

export type StatusPatch = Partial<{ [K in keyof Status]: Status[K] | null }>;

export interface GroupContext {
  readonly options: GroupSnapshotControllerOptions;
  readonly hooks: SnapshotHooks;
  /** Which claims a group takes, as the informers see them now. */
  readonly lookup: MemberLookup;
  patchStatus(group: GroupVolumeSnapshot, status: StatusPatch): Promise<GroupVolumeSnapshot>;
  record(group: GroupVolumeSnapshot, type: 'Normal' | 'Warning', reason: string, message: string): void;
}

export function groupContext(options: GroupSnapshotControllerOptions): GroupContext {
  return {
    options,
    hooks: options.hooks ?? noSnapshotHooks,
    lookup: {
      claims: () => options.claims.list(),
      volume: (name) => options.volumes.get(name),
      volumeIdOf: (pv) => options.driver.volumeIdOf(pv),
      driverName: options.driver.name,
    },
    /**
     * Status is this controller's alone (the status subresource, one worker per group, leader only), so it
     * is written without a version precondition: the rules' record of background commands changes the
     * group's metadata meanwhile, which must not make the status write conflict while the pre rule holds.
     */
    patchStatus: (group, status) =>
      options.api.patch<GroupVolumeSnapshot>(
        resources.groupVolumeSnapshots,
        { namespace: group.metadata.namespace ?? '', name: group.metadata.name ?? '', subresource: 'status' },
        { status },
      ),
    record: (group, type, reason, message) =>
      options.events.record(groupReference(group), type, reason, message),
  };
}
