// The names and annotations of stork's snapshot feature, as Stork users know them, and the deterministic
// names derived from Kubernetes UIDs that make every step idempotent across retries and restarts.
import type { SnapshotCondition, SnapshotConditionType } from '../../k8s/crds/volume-snapshot.js';

/** The provisioner of the `stork-snapshot-sc` StorageClass. */
export const snapshotProvisionerName = 'stork-snapshot';
/** Stork's provisioner identity, recorded on the PVs it provisions. */
export const provisionerIdentity = 'stork';
export const provisionerIdentityAnnotation = 'snapshotProvisionerIdentity';
export const provisionedByAnnotation = 'pv.kubernetes.io/provisioned-by';

export {
  restoreNamespacesAnnotation,
  snapshotAnnotation,
  sourceNamespaceAnnotation,
} from '../../wire/snapshot-names.js';

/** Keeps a VolumeSnapshot until its driver snapshot and data object are gone and no restore needs it. */
export const snapshotFinalizer = 'stork.libopenstorage.org/snapshot-protection';

/** Tags on the driver snapshot naming the VolumeSnapshot it was taken for (Stork's). */
export const createdForLabels = {
  namespace: 'kubernetes.io/created-for/snapshot/namespace',
  name: 'kubernetes.io/created-for/snapshot/name',
  uid: 'kubernetes.io/created-for/snapshot/uid',
} as const;

/**
 * Keeps a claim of the `stork-snapshot` class while stork may have made a volume for it and no PV says so
 * yet: the record, in the API server, that survives a restart or a change of leader, so that the clone of
 * a claim deleted before its PV existed is found and deleted, and nothing else ever is.
 */
export const restoreFinalizer = 'stork.libopenstorage.org/restore-protection';

/** The VolumeSnapshotData of a VolumeSnapshot (external-snapshotter's naming). */
export function snapshotDataName(snapshotUid: string): string {
  return `k8s-volume-snapshot-${snapshotUid}`;
}

/** The driver snapshot of a VolumeSnapshot (Stork's Portworx naming). */
export function driverSnapshotName(snapshotUid: string): string {
  return `snapshot-${snapshotUid}`;
}

/** The driver volume and the PV restored for a claim. */
export function restoredVolumeName(claimUid: string): string {
  return `pvc-${claimUid}`;
}

/** The Error condition message, in Stork's words. */
export function snapshotFailedMessage(cause: string): string {
  return `snapshot failed due to err: ${cause}`;
}

export function condition(
  type: SnapshotConditionType,
  message: string,
  reason = '',
  now = new Date(),
): SnapshotCondition {
  return {
    type,
    status: 'True',
    lastTransitionTime: now.toISOString().replace(/\.\d+Z$/, 'Z'),
    ...(reason ? { reason } : {}),
    message,
  };
}

/** The condition a snapshot is in now: the last true one. */
export function currentCondition(
  conditions: readonly SnapshotCondition[] | undefined,
): SnapshotCondition | undefined {
  return [...(conditions ?? [])].reverse().find((c) => c.status === 'True');
}

/**
 * The `spec.snapshotDataName` of a snapshot when stork did not set it (anything but unset or the name
 * derived from the snapshot's UID), else undefined. Such a value is never used: stork puts its own back.
 */
export function foreignDataName(snapshot: {
  metadata: { uid?: string | undefined };
  spec: { snapshotDataName?: string | undefined };
}): string | undefined {
  const named = snapshot.spec.snapshotDataName;
  if (named === undefined || named === snapshotDataName(snapshot.metadata.uid ?? '')) return undefined;
  return named;
}
