import type { VolumeDriver } from './driver.js';
import type { PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from '../wire/k8s-types.js';
import { claimStorageClassName } from './ownership.js';

/** Lookups of the objects a pod's claims lead to, from caches. */
export interface ClaimLookups {
  getClaim(name: string, namespace: string): PersistentVolumeClaim | undefined;
  getVolume(name: string): PersistentVolume | undefined;
  getStorageClass(name: string): StorageClass | undefined;
}

/** One claim a pod mounts, with what the caches know of it. */
export interface PodClaim {
  readonly name: string;
  readonly namespace: string;
  /** `namespace/name`, as messages name the claim. */
  readonly key: string;
  /** Absent: the cache has no such claim. */
  readonly claim: PersistentVolumeClaim | undefined;
  /** The PV the claim names (`spec.volumeName`), even when the cache has not seen it yet. */
  readonly pvName: string | undefined;
  readonly pv: PersistentVolume | undefined;
  readonly storageClassName: string | undefined;
  /** Absent: the claim names no class, or the cache does not know it. */
  readonly storageClass: StorageClass | undefined;
}

/**
 * The claims a pod mounts, in the order of its volumes, each resolved through the caches to its PV and
 * StorageClass. This is the one walk from a pod to its volumes: every "which of this pod's volumes are
 * the driver's" question starts here.
 */
export function podClaims(pod: Pod, lookups: ClaimLookups): PodClaim[] {
  const namespace = pod.metadata?.namespace ?? 'default';
  const out: PodClaim[] = [];
  for (const volume of pod.spec?.volumes ?? []) {
    const name = volume.persistentVolumeClaim?.claimName;
    if (!name) continue;
    const claim = lookups.getClaim(name, namespace);
    const pvName = claim?.spec?.volumeName || undefined;
    const storageClassName = claim ? claimStorageClassName(claim) : undefined;
    out.push({
      name,
      namespace,
      key: `${namespace}/${name}`,
      claim,
      pvName,
      pv: pvName ? lookups.getVolume(pvName) : undefined,
      storageClassName,
      storageClass: storageClassName ? lookups.getStorageClass(storageClassName) : undefined,
    });
  }
  return out;
}

/** Inline (claim-less) volume ids of the driver's kind in the pod: `portworxVolume` for pxd. */
export function inlineDriverVolumeIds(pod: Pod, driver: Pick<VolumeDriver, 'name'>): string[] {
  if (driver.name !== 'pxd') return [];
  return (pod.spec?.volumes ?? []).flatMap((v) =>
    v.portworxVolume?.volumeID ? [v.portworxVolume.volumeID] : [],
  );
}

/** Whether a resolved claim is the driver's. A claim the cache does not have is nobody's. */
export function ownsPodClaim(driver: Pick<VolumeDriver, 'ownsClaim'>, c: PodClaim): boolean {
  return c.claim !== undefined && driver.ownsClaim(c.claim, c.pv, c.storageClass);
}

/** Whether any of the pod's volumes is the driver's (a claim it owns, or an inline volume of its kind). */
export function usesDriverVolumes(
  pod: Pod,
  driver: Pick<VolumeDriver, 'name' | 'ownsClaim'>,
  lookups: ClaimLookups,
): boolean {
  if (inlineDriverVolumeIds(pod, driver).length > 0) return true;
  return podClaims(pod, lookups).some((c) => ownsPodClaim(driver, c));
}

/** The pod's claims that are bound to a PV of the driver, with the driver's volume id (claims only). */
export function boundDriverVolumes(
  pod: Pod,
  driver: Pick<VolumeDriver, 'ownsClaim' | 'volumeIdOf'>,
  lookups: ClaimLookups,
): { readonly claim: PodClaim; readonly volumeId: string }[] {
  return podClaims(pod, lookups).flatMap((c) => {
    if (!c.pv || !ownsPodClaim(driver, c)) return [];
    const volumeId = driver.volumeIdOf(c.pv);
    return volumeId ? [{ claim: c, volumeId }] : [];
  });
}
