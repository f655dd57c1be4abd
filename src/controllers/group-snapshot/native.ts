// When a GroupVolumeSnapshot is taken natively, as one groupsnapshot.storage.k8s.io VolumeGroupSnapshot
// (the storage system cuts every volume at one point in time), and when by the held fallback (one
// snapshot per claim, all cut while the pre-rule's hold is open).
import type { LabelSelector, PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import type { GroupSnapshotState } from '../../drivers/volume-snapshots.js';
import { labelSelectorMatches } from '../../drivers/node-selectors.js';
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import type { GroupMember } from './members.js';

/** On a GroupVolumeSnapshot (annotation, or a key of `spec.options`): the VolumeGroupSnapshotClass to use. */
export const csiGroupSnapshotClassAnnotation = 'stork.libopenstorage.org/csi-group-snapshot-class';

type Ref = { readonly namespace: string; readonly name: string };

/** The storage side of native group snapshots (drivers/csi/csi-group-snapshots.ts). */
export interface NativeGroupSnapshots {
  classFor(driver: string, wanted: string | undefined, signal?: AbortSignal): Promise<string | undefined>;
  cut(
    ref: Ref,
    spec: { selector: LabelSelector; className: string; labels: Readonly<Record<string, string>> },
    signal?: AbortSignal,
  ): Promise<void>;
  state(ref: Ref, signal?: AbortSignal): Promise<GroupSnapshotState>;
  exists(ref: Ref, signal?: AbortSignal): Promise<boolean>;
  discard(ref: Ref, signal?: AbortSignal): Promise<void>;
  delete(ref: Ref, signal?: AbortSignal): Promise<void>;
}

/** The VolumeGroupSnapshot of a group: named after its UID, so a retry or a restart finds it. */
export function nativeGroupSnapshotName(groupUid: string): string {
  return `stork-group-${groupUid}`;
}

/** Where a group's VolumeGroupSnapshot is: the group's namespace, under the name of its UID. */
export function nativeRef(group: GroupVolumeSnapshot): { namespace: string; name: string } {
  return {
    namespace: group.metadata.namespace ?? '',
    name: nativeGroupSnapshotName(group.metadata.uid ?? ''),
  };
}

/** In a member's `DataSource` (status.volumeSnapshots): the VolumeGroupSnapshot it was cut in. */
export const nativeDataSourceKey = 'csiVolumeGroupSnapshot';

/** Whether a group's recorded snapshots were cut natively (their DataSource names the group snapshot). */
export function cutNatively(group: GroupVolumeSnapshot): boolean {
  return (group.status?.volumeSnapshots ?? []).some((e) => e.DataSource?.[nativeDataSourceKey] !== undefined);
}

/** The class the user named for the group, if any (the annotation wins over the option). */
export function wantedGroupClass(group: GroupVolumeSnapshot): string | undefined {
  return (
    group.metadata.annotations?.[csiGroupSnapshotClassAnnotation] ??
    group.spec.options?.[csiGroupSnapshotClassAnnotation]
  );
}

/** What a native group snapshot would be taken with, or why it cannot be. */
export type NativeChoice =
  | { readonly native: true; readonly driver: string; readonly selector: LabelSelector }
  | { readonly native: false; readonly reason: string };

/**
 * Whether the members can be one VolumeGroupSnapshot: all CSI volumes of one driver, and a selector that
 * picks exactly them. snapshot-controller selects the namespace's claims by `matchLabels` alone (it
 * ignores `matchExpressions`) and takes every claim it selects, bound or not, so the set the `matchLabels`
 * select must be the very set stork checked; stork never labels a user's claims to make it so.
 */
export function nativeChoice(
  group: GroupVolumeSnapshot,
  members: readonly GroupMember[],
  lookup: {
    readonly claims: readonly PersistentVolumeClaim[];
    readonly volume: (name: string) => PersistentVolume | undefined;
  },
): NativeChoice {
  const drivers = new Set(members.map((m) => lookup.volume(m.pvName)?.spec?.csi?.driver ?? ''));
  if (drivers.has('')) return { native: false, reason: 'not every claim is a CSI volume' };
  if (drivers.size !== 1) return { native: false, reason: 'the claims are volumes of several CSI drivers' };
  const matchLabels = group.spec.pvcSelector?.matchLabels ?? {};
  if (Object.keys(matchLabels).length === 0)
    return {
      native: false,
      reason: 'pvcSelector has no matchLabels (a VolumeGroupSnapshot selects by them)',
    };
  const namespace = group.metadata.namespace ?? '';
  const selected = lookup.claims
    .filter((c) => c.metadata?.namespace === namespace)
    .filter((c) => labelSelectorMatches({ matchLabels }, { metadata: { labels: c.metadata?.labels ?? {} } }))
    .map((c) => c.metadata?.name ?? '')
    .sort();
  const checked = members.map((m) => m.claimName).sort();
  if (JSON.stringify(selected) !== JSON.stringify(checked))
    return {
      native: false,
      reason: "pvcSelector's matchLabels select other claims than the whole selector does",
    };
  return { native: true, driver: [...drivers][0] ?? '', selector: { matchLabels: { ...matchLabels } } };
}
