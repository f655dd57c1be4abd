// Which of a schedule's snapshots go, for one policy type: a pure plan the controller then carries out.
import type { ScheduledVolumeSnapshotStatus } from '../../k8s/crds/volume-snapshot-schedule.js';

/** An Error snapshot object is removed this long after it was taken (Stork's 90 s), its record kept. */
export const errorCleanupAfterMs = 90_000;

export interface RetentionPlan {
  /** Snapshots beyond `retain`: delete them, then drop their records. */
  readonly expire: readonly string[];
  /** Failed snapshots: delete the objects, keep the records marked deleted (the message stays). */
  readonly cleanUp: readonly string[];
  /** Records of snapshots already gone that are no longer worth keeping. */
  readonly forget: readonly string[];
  /** Snapshots that would go but are the source of a restore in progress: kept for now. */
  readonly inUse: readonly string[];
}

const createdAt = (item: ScheduledVolumeSnapshotStatus): number =>
  Date.parse(item.creationTimestamp ?? '') || 0;

/**
 * Keeps the newest `retain` Ready snapshots. Everything older than the oldest of them goes (Ready or
 * Error); failed ones newer than that lose their object after a while but keep their record; at most
 * `retain` records of deleted snapshots are kept. Pending snapshots are never touched, and nothing is
 * deleted while fewer than `retain` snapshots are Ready, so a run of failures never costs a good one.
 */
export function retentionPlan(
  items: readonly ScheduledVolumeSnapshotStatus[],
  retain: number,
  now: number,
  restoring: (name: string) => boolean,
): RetentionPlan {
  const ordered = [...items].sort((a, b) => createdAt(a) - createdAt(b));
  const ready = ordered.filter((i) => i.status === 'Ready' && !i.deleted);
  const expire: string[] = [];
  const cleanUp: string[] = [];
  const forget: string[] = [];
  const inUse: string[] = [];
  const oldestKept = ready.length > retain ? ready[ready.length - retain] : undefined;
  const cutoff = oldestKept ? createdAt(oldestKept) : -Infinity;
  const keep = new Set(oldestKept ? ready.slice(-retain) : ready);
  for (const item of ordered) {
    if (item.status === 'Pending' && !item.deleted) continue;
    if (item.deleted) {
      if (createdAt(item) < cutoff) forget.push(item.name);
      continue;
    }
    if (createdAt(item) < cutoff && !keep.has(item)) {
      if (restoring(item.name)) inUse.push(item.name);
      else expire.push(item.name);
      continue;
    }
    if (item.status === 'Error' && now - createdAt(item) >= errorCleanupAfterMs) {
      if (restoring(item.name)) inUse.push(item.name);
      else cleanUp.push(item.name);
    }
  }
  // Bound the record of deleted snapshots: the newest `retain` of them stay.
  const deleted = ordered.filter((i) => i.deleted && !forget.includes(i.name));
  const excess = deleted.length - Math.max(retain, 1);
  for (const item of deleted.slice(0, Math.max(0, excess))) forget.push(item.name);
  return { expire, cleanUp, forget, inUse };
}
