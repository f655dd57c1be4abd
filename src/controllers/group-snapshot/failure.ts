// How a group's attempt fails: a failure that counts against its retries, and the pause before the next.
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';

/** A failure that counts against maxRetries and, once they are spent, ends the group Failed. */
export class GroupFailed extends Error {}

/** How much longer a group that failed and is to be retried waits (0: retry now). */
export function retryWait(group: GroupVolumeSnapshot, delayMs: number, now = Date.now()): number {
  const last = group.status?.conditions?.at(-1);
  if (last?.reason !== 'GroupSnapshotRetrying') return 0;
  const since = Date.parse(last.lastTransitionTime ?? '');
  return Number.isFinite(since) ? Math.max(0, since + delayMs - now) : 0;
}
