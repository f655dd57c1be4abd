import type { PersistentVolumeClaim } from '../../wire/k8s-types.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import {
  currentCondition,
  snapshotDataName,
  restoreNamespacesAnnotation,
  snapshotAnnotation,
  sourceNamespaceAnnotation,
} from './names.js';
import { compileNamespacePattern, NamespacePatternError } from './namespace-pattern.js';

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

/** The longest `stork/snapshot-restore-namespaces` value read; a longer one allows nothing. */
export const maxRestoreNamespacesLength = 1024;

/**
 * Why `namespace` may not restore `snapshot`, or undefined when it may: always its own namespace; another
 * only if one of the snapshot's restore-namespaces patterns (comma-separated, each anchored ^…$, matched
 * in linear time) matches it. An invalid pattern allows nothing and is named in the answer.
 */
export function restoreRefusal(snapshot: VolumeSnapshot, namespace: string): string | undefined {
  if (snapshot.metadata.namespace === namespace) return undefined;
  const value = snapshot.metadata.annotations?.[restoreNamespacesAnnotation];
  const notAllowed = `it is not allowed by the snapshot's ${restoreNamespacesAnnotation} annotation`;
  if (value === undefined) return `${notAllowed} (not set)`;
  if (value.length > maxRestoreNamespacesLength) {
    return (
      `the snapshot's ${restoreNamespacesAnnotation} annotation is ${value.length} characters long; ` +
      `at most ${maxRestoreNamespacesLength} are allowed`
    );
  }
  const invalid: string[] = [];
  for (const pattern of value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')) {
    try {
      if (compileNamespacePattern(pattern).test(namespace)) return undefined;
    } catch (error) {
      if (!(error instanceof NamespacePatternError)) throw error;
      invalid.push(`"${pattern}": ${error.message}`);
    }
  }
  const why = `${notAllowed} ("${value}")`;
  return invalid.length === 0 ? why : `${why}; invalid pattern(s) allow nothing: ${invalid.join('; ')}`;
}

/** Whether `namespace` may restore `snapshot` (see restoreRefusal). */
export function restoreAllowed(snapshot: VolumeSnapshot, namespace: string): boolean {
  return restoreRefusal(snapshot, namespace) === undefined;
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
  const refusal = restoreRefusal(snapshot, claimNamespace);
  if (refusal !== undefined) {
    throw new RestoreRefused(`${what} cannot be restored into namespace ${claimNamespace}: ${refusal}`);
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
