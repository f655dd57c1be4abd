import type { PersistentVolumeSpec } from '../wire/k8s-types.js';
import type { DriverVolume } from './driver.js';

/** A driver snapshot: a read-only point-in-time copy of a volume. */
export interface DriverVolumeSnapshot {
  readonly id: string;
  readonly name: string;
  /** The volume it was taken of. */
  readonly volumeId: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Whether it can be restored from (local snapshots are ready at once). */
  readonly ready: boolean;
  /**
   * Set when the snapshot failed for good (the storage system's error, or a deadline passed): the
   * controller deletes it and ends the VolumeSnapshot in Error with this cause.
   */
  readonly failure?: string;
  /** What the VolumeSnapshotData records of it, beyond the id (the CSI snapshot's names). */
  readonly details?: Readonly<Record<string, string>>;
}

/** Where a storage system's group snapshot stands: its members by claim name once it and they exist. */
export type GroupSnapshotState =
  | { readonly phase: 'gone' }
  | { readonly phase: 'failed'; readonly cause: string }
  | { readonly phase: 'pending' }
  | { readonly phase: 'ready'; readonly members: ReadonlyMap<string, DriverVolumeSnapshot> };

/**
 * Snapshots of several volumes at one point in time, cut by the storage system in one call (Portworx's
 * group snapshot), rather than one by one under an application's held rule.
 */
export interface GroupSnapshotCall {
  /**
   * Snapshots every volume at once, all or nothing, each labelled with `labels` (the storage system names
   * them). Resolves with one snapshot per volume, in the order of `volumeIds`; rejects with a
   * DriverError when a retry may succeed, with another error when the storage system refused.
   */
  snapshotGroup(
    volumeIds: readonly string[],
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolumeSnapshot[]>;
  /** Every snapshot carrying all of `labels` (what an interrupted group call may have made). */
  findLabelled(
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolumeSnapshot[]>;
}

/**
 * Snapshot and restore calls a storage system offers to the snapshot controller and the `stork-snapshot`
 * provisioner. Names are the idempotency keys: the callers derive them from Kubernetes UIDs and look for
 * an existing object by name before creating, so a retry or a restart never makes a second one.
 */
export interface VolumeSnapshots {
  /** Takes a snapshot of `volumeId` named `name`, with `labels`; returns it. */
  createSnapshot(
    volumeId: string,
    name: string,
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolumeSnapshot>;
  /** The snapshot with this name, or undefined. */
  findSnapshot(name: string, signal?: AbortSignal): Promise<DriverVolumeSnapshot | undefined>;
  /** The snapshot with this id, or undefined when the storage system does not know it. */
  inspectSnapshot(id: string, signal?: AbortSignal): Promise<DriverVolumeSnapshot | undefined>;
  /** Deletes a snapshot; deleting one that is not there succeeds. */
  deleteSnapshot(id: string, signal?: AbortSignal): Promise<void>;
  /**
   * Deletes a snapshot that was never handed out (a failed group's), with everything the storage system
   * keeps of it, whatever a deletion policy says. Drivers whose deleteSnapshot already does that omit it.
   */
  discardSnapshot?(id: string, signal?: AbortSignal): Promise<void>;
  /** A new writable volume named `name` cloned from the snapshot; returns it. */
  restoreSnapshot(
    snapshotId: string,
    name: string,
    labels: Readonly<Record<string, string>>,
    signal?: AbortSignal,
  ): Promise<DriverVolume>;
  /** The (non-snapshot) volume with this name, or undefined. */
  findVolume(name: string, signal?: AbortSignal): Promise<DriverVolume | undefined>;
  /** Deletes a volume; deleting one that is not there succeeds. */
  deleteVolume(id: string, signal?: AbortSignal): Promise<void>;
  /** The PersistentVolume source that mounts a volume of this driver (e.g. CSI with the volume id). */
  persistentVolumeSource(volumeId: string): Pick<PersistentVolumeSpec, 'csi' | 'portworxVolume'>;
  /** The VolumeSnapshotData spec source for a snapshot (Stork's `portworxVolume{snapshotId,...}`). */
  snapshotDataSource(snapshot: DriverVolumeSnapshot): Record<string, unknown>;
  /** The snapshot id a VolumeSnapshotData spec names, or undefined if it is not this driver's. */
  snapshotIdOf(dataSpec: Readonly<Record<string, unknown>>): string | undefined;
  /**
   * The storage system's own group snapshot for these volumes, when it can cut them all at one point in
   * time itself; undefined when it cannot (they are then snapshotted one by one under the held rule).
   */
  groupCall?(volumeIds: readonly string[]): GroupSnapshotCall | undefined;
  /** Whether this volume is this driver's to snapshot (for routing among several drivers). */
  ownsVolume?(volumeId: string): boolean;
  /** Whether this snapshot id is this driver's (for routing among several drivers). */
  ownsSnapshotId?(id: string): boolean;
}
