import type {
  NodeSelector,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  StorageClass,
} from '../../wire/k8s-types.js';
import { podClaims, type ClaimLookups } from '../pod-claims.js';
import { claimProvisioner } from '../ownership.js';
import { quantityValue } from '../quantity.js';
import type { CsiView } from './csi-view.js';

/** A pod's claim bound to a CSI volume of a served driver. */
export interface BoundCsiVolume {
  /** `namespace/name` of the claim. */
  readonly claim: string;
  readonly pv: string;
  readonly driver: string;
  readonly volumeHandle: string;
  /** The PV's required node affinity: where the volume can be used from (none: everywhere). */
  readonly nodeAffinity: NodeSelector | undefined;
}

/** A pod's claim of a served driver that waits for the pod to be placed (WaitForFirstConsumer). */
export interface WaitingCsiClaim {
  readonly claim: string;
  readonly storageClass: string;
  readonly driver: string;
  /** The claim's storage request in bytes (0 when it names none). */
  readonly requestBytes: number;
}

export type PodCsiVolumes =
  | { readonly kind: 'none' }
  | { readonly kind: 'error'; readonly message: string }
  | {
      readonly kind: 'ready';
      readonly bound: readonly BoundCsiVolume[];
      readonly waiting: readonly WaitingCsiClaim[];
      /** Every CSI driver the pod's claims use. */
      readonly drivers: readonly string[];
    };

/**
 * The CSI driver behind a claim, if stork serves it: the bound PV's `spec.csi.driver`, else the
 * provisioner the claim (or its class) names. A claim belongs to exactly one driver.
 */
export function csiDriverOfClaim(
  claim: PersistentVolumeClaim,
  pv: PersistentVolume | undefined,
  storageClass: StorageClass | undefined,
  view: Pick<CsiView, 'servesDriver'>,
): string | undefined {
  const name = pv ? pv.spec?.csi?.driver : claimProvisioner(claim, storageClass);
  return name && view.servesDriver(name) ? name : undefined;
}

/**
 * Resolves the pod's claims that belong to served CSI drivers. Claims of other drivers are left to them;
 * a missing claim or an unbound claim that does not wait for its first consumer is an error (the
 * scheduler retries), as for every driver.
 */
export function podCsiVolumes(pod: Pod, lookups: ClaimLookups, view: CsiView): PodCsiVolumes {
  const bound: BoundCsiVolume[] = [];
  const waiting: WaitingCsiClaim[] = [];
  const drivers = new Set<string>();
  for (const { key, claim, pvName, pv, storageClassName: className, storageClass } of podClaims(
    pod,
    lookups,
  )) {
    if (!claim) return { kind: 'error', message: `Unable to find PVC ${key}` };
    if (pvName && !pv) {
      // The claim names a PV the cache has not seen: its driver is unknown yet, so it cannot be judged.
      if (claim.status?.phase === 'Bound' && storageClass && view.servesDriver(storageClass.provisioner))
        return { kind: 'error', message: `PersistentVolume ${pvName} of PVC ${key} is not in the cache yet` };
      continue;
    }
    const driver = csiDriverOfClaim(claim, pv, storageClass, view);
    if (!driver) continue;
    drivers.add(driver);
    if (pv) {
      bound.push({
        claim: key,
        pv: pv.metadata?.name ?? '',
        driver,
        volumeHandle: pv.spec?.csi?.volumeHandle ?? '',
        nodeAffinity: pv.spec?.nodeAffinity?.required,
      });
    } else if (storageClass?.volumeBindingMode === 'WaitForFirstConsumer') {
      waiting.push({
        claim: key,
        storageClass: className ?? '',
        driver,
        requestBytes: quantityValue(claim.spec?.resources?.requests?.storage) ?? 0,
      });
    } else {
      return { kind: 'error', message: `Waiting for PVC ${key} to be bound` };
    }
  }
  if (drivers.size === 0) return { kind: 'none' };
  if (!view.synced)
    return {
      kind: 'error',
      message: 'the CSI objects (CSINode, CSIDriver, CSIStorageCapacity) are not loaded yet',
    };
  return { kind: 'ready', bound, waiting, drivers: [...drivers].sort() };
}
