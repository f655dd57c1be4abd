// Which claims a GroupVolumeSnapshot takes, checked before anything runs: the claims of its own namespace
// its selector matches, each bound to a volume of the driver.
import type { LabelSelector, PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { labelSelectorMatches } from '../../drivers/node-selectors.js';
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import { memberDriverSnapshotName, memberSnapshotName } from './names.js';

/** One claim of the group and the names of what is made for it. */
export interface GroupMember {
  readonly claimName: string;
  readonly pvName: string;
  readonly volumeId: string;
  /** The storage system's snapshot (its idempotency key). */
  readonly driverSnapshotName: string;
  /** The seed-API VolumeSnapshot stork makes for it once the snapshot is done. */
  readonly memberName: string;
}

/** A check that failed: the group ends Failed with this message (after its retries). */
export class PrecheckFailed extends Error {}

export interface MemberLookup {
  readonly claims: () => readonly PersistentVolumeClaim[];
  readonly volume: (name: string) => PersistentVolume | undefined;
  /** The driver's volume id of a PV, or undefined when it is not the driver's. */
  readonly volumeIdOf: (pv: PersistentVolume) => string | undefined;
  readonly driverName: string;
}

const operators = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);
const maxSelectorTerms = 64;

/** The selector's problem, or undefined when it can select claims. */
export function selectorProblem(selector: LabelSelector | undefined): string | undefined {
  const labels = Object.keys(selector?.matchLabels ?? {});
  const expressions = selector?.matchExpressions ?? [];
  if (labels.length === 0 && expressions.length === 0)
    return 'pvcSelector must have matchLabels or matchExpressions (an empty selector would take every claim)';
  if (labels.length + expressions.length > maxSelectorTerms)
    return `pvcSelector has more than ${maxSelectorTerms} terms`;
  const bad = expressions.find((e) => !operators.has(e.operator));
  if (bad)
    return `pvcSelector operator "${bad.operator.slice(0, 32)}" is not one of In, NotIn, Exists, DoesNotExist`;
  return undefined;
}

/**
 * The members of the group, sorted by claim name; [] when no claim matches yet (the group waits, as
 * Stork's does). Only claims of the group's own namespace are ever looked at.
 */
export function groupMembers(group: GroupVolumeSnapshot, lookup: MemberLookup): GroupMember[] {
  const selector = group.spec.pvcSelector;
  const problem = selectorProblem(selector);
  if (problem || !selector) throw new PrecheckFailed(problem ?? 'pvcSelector is missing');
  const namespace = group.metadata.namespace ?? '';
  const groupName = group.metadata.name ?? '';
  const groupUid = group.metadata.uid ?? '';
  const claims = lookup
    .claims()
    .filter((claim) => claim.metadata?.namespace === namespace)
    .filter((claim) => labelSelectorMatches(selector, { metadata: { labels: claim.metadata?.labels ?? {} } }))
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return claims.map((claim) => {
    const claimName = claim.metadata?.name ?? '';
    const where = `PersistentVolumeClaim ${namespace}/${claimName}`;
    const pvName = claim.spec?.volumeName;
    const pv = pvName ? lookup.volume(pvName) : undefined;
    if (!pvName || !pv || claim.status?.phase !== 'Bound')
      throw new PrecheckFailed(`${where} is not bound to a volume`);
    const volumeId = lookup.volumeIdOf(pv);
    if (!volumeId) throw new PrecheckFailed(`${where} is not a ${lookup.driverName} volume`);
    const memberName = memberSnapshotName(groupName, claimName, groupUid);
    if (!memberName)
      throw new PrecheckFailed(
        `${where}: the name of its VolumeSnapshot would be longer than 253 characters`,
      );
    return {
      claimName,
      pvName,
      volumeId,
      driverSnapshotName: memberDriverSnapshotName(groupUid, claim.metadata?.uid ?? ''),
      memberName,
    };
  });
}

/** The members as far as they can be told now (none when the claims no longer pass the prechecks). */
export function currentMembers(group: GroupVolumeSnapshot, lookup: MemberLookup): GroupMember[] {
  try {
    return groupMembers(group, lookup);
  } catch {
    return [];
  }
}
