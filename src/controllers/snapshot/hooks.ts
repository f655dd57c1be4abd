import type { LabelSelector, ObjectMeta } from '../../wire/k8s-types.js';

/**
 * The parts of a VolumeSnapshot or a GroupVolumeSnapshot that snapshot hooks (application-consistency
 * rules) read: a VolumeSnapshot's claim, a group's rules and claim selector.
 */
export interface SnapshotSubject {
  readonly metadata: ObjectMeta;
  readonly spec?: {
    readonly persistentVolumeClaimName?: string;
    readonly preExecRule?: string;
    readonly postExecRule?: string;
    readonly pvcSelector?: LabelSelector;
  };
}

/**
 * Work done around the driver snapshot of a VolumeSnapshot: the pre- and post-snapshot rules
 * (application-consistent snapshots). The snapshot controller calls `beforeSnapshot` just before it asks
 * the driver for the snapshot, and the returned `afterSnapshot` exactly once when the driver call is over.
 */
export interface SnapshotHooks {
  /**
   * Validates and runs what must happen before the snapshot (the pre rule, including background commands
   * left running). Throws SnapshotHookError to stop the snapshot: its message goes into the snapshot's
   * Error condition as `snapshot failed due to err: <message>`.
   */
  beforeSnapshot(
    snapshot: SnapshotSubject,
    claimNames: readonly string[],
    signal: AbortSignal,
  ): Promise<AfterSnapshot>;
  /**
   * Called once when stork starts leading, before any snapshot is processed: releases whatever an earlier
   * run left held (background commands recorded on snapshots).
   */
  recover(signal: AbortSignal): Promise<void>;
  /**
   * Whether the snapshot has rules to run: the VolumeSnapshot controller then records their progress on
   * it (rules-in-flight.ts), so that a stork taking over after a restart finishes them. Absent: never.
   */
  runsRules?(snapshot: SnapshotSubject): boolean;
  /**
   * Runs only the post rule, for a snapshot an earlier stork stopped with (the hold itself is released by
   * `recover`): `cut`, it had cut the snapshot under its pre rule and not run the post rule yet;
   * `interrupted`, it stopped in the pre rule or before the cut, and the post rule undoes what of the pre
   * rule ran (a `fsfreeze -u` after a `fsfreeze -f`) before the snapshot is taken again. Throws
   * SnapshotHookError if the post rule is invalid or failed.
   */
  afterRestart?(
    snapshot: SnapshotSubject,
    claimNames: readonly string[],
    signal: AbortSignal,
    after?: RestartPoint,
  ): Promise<void>;
}

/** Where the earlier stork stopped, for {@link SnapshotHooks.afterRestart} (default `cut`). */
export type RestartPoint = 'cut' | 'interrupted';

export interface AfterSnapshot {
  /**
   * `ok` says whether the driver snapshot was taken. Always releases background commands; runs the post
   * rule only when `ok` (as Stork). Throws SnapshotHookError if the post rule failed.
   */
  afterSnapshot(ok: boolean, signal: AbortSignal): Promise<void>;
}

/** A hook failure whose message is meant for users (it ends up in the snapshot's Error condition). */
export class SnapshotHookError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SnapshotHookError';
  }
}

/** No rules: what the snapshot controller uses when none are configured. */
export const noSnapshotHooks: SnapshotHooks = {
  beforeSnapshot: () => Promise.resolve({ afterSnapshot: () => Promise.resolve() }),
  recover: () => Promise.resolve(),
};
