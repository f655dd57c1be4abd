// The user-facing names of Stork's snapshot restores, as Stork's YAML and storkctl use them: one
// definition for the daemon's controllers and for storkctl.

/** The StorageClass whose claims restore a snapshot. */
export const snapshotStorageClass = 'stork-snapshot-sc';
/** On a PVC: the VolumeSnapshot to restore from. */
export const snapshotAnnotation = 'snapshot.alpha.kubernetes.io/snapshot';
/** On a PVC: the namespace of that snapshot, when it is not the PVC's. */
export const sourceNamespaceAnnotation = 'stork/snapshot-source-namespace';
/** On a VolumeSnapshot: comma-separated regexes of the namespaces allowed to restore it. */
export const restoreNamespacesAnnotation = 'stork/snapshot-restore-namespaces';
