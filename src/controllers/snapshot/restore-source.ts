import type { PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import {
  currentCondition,
  snapshotDataName,
  restoreNamespacesAnnotation,
  snapshotAnnotation,
  sourceNamespaceAnnotation,
} from './names.js';

/** The VolumeSnapshot a claim asks to be restored from. */
export interface RestoreRef {
  readonly namespace: string;
  readonly name: string;
}

/** Why a claim cannot be provisioned (yet): the message users see in its ProvisioningFailed Event. */
export class RestoreRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreRefused';
  }
}

/** The snapshot a claim names, or undefined if it names none (not a restore). */
export function restoreRef(pvc: PersistentVolumeClaim): RestoreRef | undefined {
  const annotations = pvc.metadata?.annotations ?? {};
  const name = annotations[snapshotAnnotation];
  if (!name) return undefined;
  return { name, namespace: annotations[sourceNamespaceAnnotation] || (pvc.metadata?.namespace ?? '') };
}

/**
 * Whether `namespace` may restore `snapshot`: always its own namespace; another only if one of the
 * snapshot's restore-namespaces regexes (comma-separated, each anchored ^…$) matches it.
 */
export function restoreAllowed(snapshot: VolumeSnapshot, namespace: string): boolean {
  if (snapshot.metadata.namespace === namespace) return true;
  const patterns = snapshot.metadata.annotations?.[restoreNamespacesAnnotation] ?? '';
  return patterns
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .some((pattern) => {
      try {
        return new RegExp(`^(?:${pattern})$`).test(namespace);
      } catch {
        return false; // a malformed pattern allows nothing
      }
    });
}

/**
 * Checks that a claim can be restored from `snapshot` now; throws RestoreRefused saying why not.
 * Returns the name of the snapshot's VolumeSnapshotData: always the one derived from the snapshot's own
 * UID. `spec.snapshotDataName` is writable by whoever may edit the snapshot, so it is never trusted: a
 * snapshot naming another namespace's data would otherwise restore that data past every check here.
 */
export function checkRestore(
  pvc: PersistentVolumeClaim,
  ref: RestoreRef,
  snapshot: VolumeSnapshot | undefined,
): string {
  const claimNamespace = pvc.metadata?.namespace ?? '';
  const what = `snapshot ${ref.namespace}/${ref.name}`;
  if (pvc.spec?.selector) {
    throw new RestoreRefused('claim Selector is not supported: remove spec.selector to restore a snapshot');
  }
  if (!snapshot) throw new RestoreRefused(`${what} not found`);
  if (!restoreAllowed(snapshot, claimNamespace)) {
    const allowed = snapshot.metadata.annotations?.[restoreNamespacesAnnotation];
    throw new RestoreRefused(
      `${what} cannot be restored into namespace ${claimNamespace}: it is not allowed by the snapshot's ` +
        `${restoreNamespacesAnnotation} annotation (${allowed === undefined ? 'not set' : `"${allowed}"`})`,
    );
  }
  // A snapshot being deleted still serves claims that were waiting on it: it is kept until they are bound.
  const state = currentCondition(snapshot.status?.conditions);
  if (state?.type === 'Error') {
    throw new RestoreRefused(`${what} failed: ${state.message ?? ''}`);
  }
  const uid = snapshot.metadata.uid;
  if (state?.type !== 'Ready' || !uid) throw new RestoreRefused(`${what} is not ready yet`);
  return snapshotDataName(uid);
}

/**
 * Checks that `data` was made for `snapshot`: its volumeSnapshotRef names the snapshot's namespace, name
 * and UID (a namesake created after a deletion has another UID). Throws RestoreRefused otherwise.
 */
export function checkSnapshotData(snapshot: VolumeSnapshot, data: VolumeSnapshotData): void {
  const ref = data.spec.volumeSnapshotRef;
  const namespace = snapshot.metadata.namespace ?? '';
  const name = snapshot.metadata.name ?? '';
  if (
    ref?.namespace === namespace &&
    ref.name === name &&
    ref.uid !== undefined &&
    ref.uid === snapshot.metadata.uid
  ) {
    return;
  }
  const named = ref ? `${ref.namespace ?? ''}/${ref.name ?? ''} (uid ${ref.uid ?? 'none'})` : 'no snapshot';
  throw new RestoreRefused(
    `VolumeSnapshotData ${data.metadata.name ?? ''} does not belong to snapshot ${namespace}/${name}: ` +
      `it names ${named}; refusing to restore it`,
  );
}
