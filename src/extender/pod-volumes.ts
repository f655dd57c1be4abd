import type { DriverVolume } from '../drivers/driver.js';
import type { Pod } from '../wire/k8s-types.js';
import { claimProvisioner, claimStorageClassName } from '../drivers/ownership.js';
import type { ClusterState } from './cluster-state.js';

/** Stork's annotation on a PVC whose volume is being restored in place: the pod must wait. */
export const restoreInProgressAnnotation = 'stork.libopenstorage.org/restore-in-progress';
/** A volume label that leaves the volume out of scoring (it still has to be reachable). */
export const skipScoringLabel = 'stork.libopenstorage.org/skipSchedulerScoring';

/** The driver volumes a pod uses, resolved through the caches. */
export interface PodVolumes {
  /** Bound driver volumes with their replica placement. */
  readonly volumes: readonly DriverVolume[];
  /** Claims of the driver that wait for this pod to be placed (WaitForFirstConsumer), as `ns/name`. */
  readonly waitingForFirstConsumer: readonly string[];
  /** Volume ids the driver cache does not know yet (they are being fetched). */
  readonly unknownVolumeIds: readonly string[];
}

/** Why a pod cannot be placed right now; the scheduler retries it later. */
export class PodVolumeError extends Error {
  constructor(
    readonly reason: 'MissingClaim' | 'ClaimPending' | 'RestoreInProgress' | 'UnknownStorageClass',
    message: string,
  ) {
    super(message);
    this.name = 'PodVolumeError';
  }
}

/**
 * The storage driver's volumes among a pod's volumes. Claims that are not the driver's are ignored. A claim
 * that does not exist, a claim under in-place restore (whoever's it is) and a driver claim that is still
 * unbound (unless its class binds on first consumer) are errors, as in Stork.
 */
export function podVolumes(pod: Pod, state: ClusterState): PodVolumes {
  const namespace = pod.metadata?.namespace ?? 'default';
  const volumes: DriverVolume[] = [];
  const waiting: string[] = [];
  const unknown: string[] = [];
  const seen = new Set<string>();
  const addVolume = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const volume = state.snapshot.volumesById.get(id);
    if (volume) volumes.push(volume);
    else unknown.push(id);
  };
  for (const volume of pod.spec?.volumes ?? []) {
    const inline = volume.portworxVolume?.volumeID;
    if (inline && state.driver.name === 'pxd') {
      addVolume(inline);
      continue;
    }
    const claimName = volume.persistentVolumeClaim?.claimName;
    if (!claimName) continue;
    const claim = state.getClaim(claimName, namespace);
    if (!claim) {
      throw new PodVolumeError('MissingClaim', `Unable to find PVC ${namespace}/${claimName}`);
    }
    // Any claim, the driver's or not (as Stork): whoever restores it in place, the pod must not start on it.
    if (claim.metadata?.annotations?.[restoreInProgressAnnotation] === 'true') {
      throw new PodVolumeError(
        'RestoreInProgress',
        `Volume restore is in progress for pvc: ${namespace}/${claimName}`,
      );
    }
    const pvName = claim.spec?.volumeName;
    const pv = pvName ? state.getVolume(pvName) : undefined;
    const className = claimStorageClassName(claim);
    const storageClass = className ? state.getStorageClass(className) : undefined;
    if (className && !storageClass && !pv && claimProvisioner(claim, undefined) === undefined) {
      // Nothing else tells whose claim this is: "unknown", not "not the driver's".
      throw new PodVolumeError(
        'UnknownStorageClass',
        `StorageClass ${className} of PVC ${namespace}/${claimName} is not known (yet): cannot tell whether the claim is the ${state.driver.name} driver's`,
      );
    }
    if (!state.driver.ownsClaim(claim, pv, storageClass)) continue;
    if (claim.status?.phase === 'Bound' && pvName && !pv) {
      throw new PodVolumeError(
        'ClaimPending',
        `PersistentVolume ${pvName} of PVC ${namespace}/${claimName} is not in the cache yet`,
      );
    }
    const volumeId = pv ? state.driver.volumeIdOf(pv) : undefined;
    if (claim.status?.phase === 'Bound' && volumeId) {
      addVolume(volumeId);
    } else if (storageClass?.volumeBindingMode === 'WaitForFirstConsumer' && !pvName) {
      waiting.push(`${namespace}/${claimName}`);
    } else {
      throw new PodVolumeError('ClaimPending', `Waiting for PVC ${namespace}/${claimName} to be bound`);
    }
  }
  return { volumes, waitingForFirstConsumer: waiting, unknownVolumeIds: unknown };
}
