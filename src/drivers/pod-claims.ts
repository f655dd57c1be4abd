import type { VolumeDriver } from './driver.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../wire/k8s-types.js';
import { claimStorageClassName } from './ownership.js';

/** Lookups of the objects a pod's claims lead to, from caches. */
export interface ClaimLookups {
  getClaim(name: string, namespace: string): PersistentVolumeClaim | undefined;
  getVolume(name: string): PersistentVolume | undefined;
  getStorageClass(name: string): StorageClass | undefined;
}

/** Whether any of the pod's volumes is the driver's (a claim it owns, or an inline volume of its kind). */
export function usesDriverVolumes(
  pod: Pod,
  driver: Pick<VolumeDriver, 'name' | 'ownsClaim'>,
  lookups: ClaimLookups,
): boolean {
  const namespace = pod.metadata?.namespace ?? 'default';
  return (pod.spec?.volumes ?? []).some((volume) => {
    if (volume.portworxVolume && driver.name === 'pxd') return true;
    const claimName = volume.persistentVolumeClaim?.claimName;
    if (!claimName) return false;
    const claim = lookups.getClaim(claimName, namespace);
    if (!claim) return false;
    const pv = claim.spec?.volumeName ? lookups.getVolume(claim.spec.volumeName) : undefined;
    const className = claimStorageClassName(claim);
    return driver.ownsClaim(claim, pv, className ? lookups.getStorageClass(className) : undefined);
  });
}
