// The names and annotations of scheduled snapshots: Stork's where Stork has them, and the due time and
// schedule UID that make a run's snapshot name deterministic and its owner certain.
import type { SchedulePolicyType } from '../../k8s/crds/volume-snapshot-schedule.js';

/** On a scheduled VolumeSnapshot: the schedule that made it (Stork's). */
export const scheduleNameAnnotation = 'stork.libopenstorage.org/snapshotScheduleName';
/** On a scheduled VolumeSnapshot: the policy type that triggered it (Stork's). */
export const policyTypeAnnotation = 'stork.libopenstorage.org/snapshotSchedulePolicyType';
/** On a scheduled VolumeSnapshot: its own name, as a label (Stork's). */
export const snapshotNameLabel = 'stork.libopenstorage.org/snapshotName';
/** On a scheduled VolumeSnapshot: the UID of the schedule, so a namesake schedule never adopts it. */
export const scheduleUidAnnotation = 'stork.libopenstorage.org/snapshotScheduleUid';
/** On a scheduled VolumeSnapshot: the slot (RFC 3339) the run was for. */
export const dueTimeAnnotation = 'stork.libopenstorage.org/snapshotScheduleDueTime';

/** Label values and the names derived from them are at most 63 characters (Stork's bound too). */
const maxNameLength = 63;

/** `2006-01-02-150405` in UTC: Stork's suffix layout, of the due time rather than the wall clock. */
export function dueSuffix(due: number): string {
  const iso = new Date(due).toISOString(); // 2026-01-02T15:04:05.000Z
  return `${iso.slice(0, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/**
 * The VolumeSnapshot of one run: `<schedule>-<policy type>-<last 4 of the schedule UID>-<due time>`, as
 * Stork names them but from the due time, so every replica and every retry names a run alike and the
 * API server's AlreadyExists stops a second snapshot of the same run.
 */
export function scheduledSnapshotName(
  scheduleName: string,
  scheduleUid: string,
  type: SchedulePolicyType,
  due: number,
): string {
  const suffix = `${type.toLowerCase()}-${scheduleUid.slice(-4)}-${dueSuffix(due)}`;
  const room = maxNameLength - suffix.length - 1;
  // A cut name must still end in a letter or digit to be a valid object name.
  const base = scheduleName.length > room ? scheduleName.slice(0, room).replace(/[-.]+$/, '') : scheduleName;
  return `${base}-${suffix}`;
}
