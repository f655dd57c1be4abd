// Which Kubernetes objects are Portworx's: pure functions of the objects, no calls to the storage system.
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../wire/k8s-types.js';
import { claimProvisioner } from '../ownership.js';

/** The CSI driver name of Portworx, also its CSI provisioner name. */
export const portworxCsiDriver = 'pxd.portworx.com';

/**
 * Provisioners whose volumes are Portworx's: the in-tree plugin, the CSI driver, and stork's own
 * snapshot provisioner (restores from Portworx snapshots come back as Portworx volumes).
 */
export const portworxProvisioners: ReadonlySet<string> = new Set([
  'kubernetes.io/portworx-volume',
  portworxCsiDriver,
  'stork-snapshot',
]);

export function ownsProvisioner(provisioner: string): boolean {
  return portworxProvisioners.has(provisioner);
}

/** The Portworx volume id behind a PV: in-tree `portworxVolume.volumeID`, or the CSI volume handle. */
export function volumeIdOf(pv: PersistentVolume): string | undefined {
  const spec = pv.spec;
  if (spec?.portworxVolume?.volumeID) return spec.portworxVolume.volumeID;
  if (spec?.csi?.driver === portworxCsiDriver && spec.csi.volumeHandle) return spec.csi.volumeHandle;
  return undefined;
}

/**
 * A bound claim belongs to whoever backs its PV (the PV is the truth once it exists, whatever the class
 * says now); an unbound one to the provisioner that will serve it.
 */
export function ownsClaim(
  pvc: PersistentVolumeClaim,
  pv: PersistentVolume | undefined,
  storageClass: StorageClass | undefined,
): boolean {
  if (pv) return volumeIdOf(pv) !== undefined;
  const provisioner = claimProvisioner(pvc, storageClass);
  return provisioner !== undefined && ownsProvisioner(provisioner);
}
