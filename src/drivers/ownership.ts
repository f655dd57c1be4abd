import type { PersistentVolumeClaim, StorageClass } from '../wire/k8s-types.js';

/** Annotations the PV controller sets on a claim to name the provisioner that will serve it. */
const provisionerAnnotations = [
  'volume.kubernetes.io/storage-provisioner',
  'volume.beta.kubernetes.io/storage-provisioner',
] as const;

/**
 * The provisioner responsible for a claim: the one the PV controller recorded on it, else its
 * StorageClass's. Undefined when neither is known (no class, or the class does not exist).
 */
export function claimProvisioner(
  pvc: PersistentVolumeClaim,
  storageClass: StorageClass | undefined,
): string | undefined {
  const annotations = pvc.metadata?.annotations ?? {};
  for (const key of provisionerAnnotations) {
    const value = annotations[key];
    if (value) return value;
  }
  return storageClass?.provisioner;
}

/** The StorageClass name a claim asks for (the field, else the legacy beta annotation). */
export function claimStorageClassName(pvc: PersistentVolumeClaim): string | undefined {
  return (
    pvc.spec?.storageClassName ??
    pvc.metadata?.annotations?.['volume.beta.kubernetes.io/storage-class'] ??
    undefined
  );
}
