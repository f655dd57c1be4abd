import type { DriverVolume } from '../drivers/driver.js';
import type { Pod } from '../wire/k8s-types.js';
import { claimProvisioner } from '../drivers/ownership.js';
import { inlineDriverVolumeIds, ownsPodClaim, podClaims } from '../drivers/pod-claims.js';
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
  for (const id of inlineDriverVolumeIds(pod, state.driver)) addVolume(id);
  for (const c of podClaims(pod, state)) {
    const { claim, key, pv, pvName, storageClass, storageClassName } = c;
    if (!claim) throw new PodVolumeError('MissingClaim', `Unable to find PVC ${key}`);
    // Any claim, the driver's or not (as Stork): whoever restores it in place, the pod must not start on it.
    if (claim.metadata?.annotations?.[restoreInProgressAnnotation] === 'true') {
      throw new PodVolumeError('RestoreInProgress', `Volume restore is in progress for pvc: ${key}`);
    }
    if (storageClassName && !storageClass && !pv && claimProvisioner(claim, undefined) === undefined) {
      // Nothing else tells whose claim this is: "unknown", not "not the driver's".
      throw new PodVolumeError(
        'UnknownStorageClass',
        `StorageClass ${storageClassName} of PVC ${key} is not known (yet): cannot tell whether the claim is the ${state.driver.name} driver's`,
      );
    }
    if (!ownsPodClaim(state.driver, c)) continue;
    if (claim.status?.phase === 'Bound' && pvName && !pv) {
      throw new PodVolumeError(
        'ClaimPending',
        `PersistentVolume ${pvName} of PVC ${key} is not in the cache yet`,
      );
    }
    const volumeId = pv ? state.driver.volumeIdOf(pv) : undefined;
    if (claim.status?.phase === 'Bound' && volumeId) {
      addVolume(volumeId);
    } else if (storageClass?.volumeBindingMode === 'WaitForFirstConsumer' && !pvName) {
      waiting.push(key);
    } else {
      throw new PodVolumeError('ClaimPending', `Waiting for PVC ${key} to be bound`);
    }
  }
  return { volumes, waitingForFirstConsumer: waiting, unknownVolumeIds: unknown };
}
