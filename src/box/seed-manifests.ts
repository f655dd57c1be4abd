/**
 * The seed README's snapshot of the MySQL example's claim and its restore, shared by the demo and the
 * tests that walk the seed's story. The snapshot is the README's with its indentation fixed (as printed it
 * is not valid YAML) and without its `namespace: default`, so that it is created where it is applied; the
 * restore is the README's word for word.
 */
export const seedSnapshotName = 'mysql-snapshot';
export const seedCloneName = 'mysql-snap-clone';

/** The seed's VolumeSnapshot of `mysql-data`, with `annotations` (e.g. the pre/post-snapshot rules). */
export function seedSnapshotManifest(annotations: Readonly<Record<string, string>> = {}): string {
  const lines = Object.entries(annotations).map(([key, value]) => `    ${key}: ${JSON.stringify(value)}`);
  return `
apiVersion: volumesnapshot.external-storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: ${seedSnapshotName}
${lines.length > 0 ? `  annotations:\n${lines.join('\n')}\n` : ''}spec:
  persistentVolumeClaimName: mysql-data
`;
}

export const seedCloneManifest = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${seedCloneName}
  annotations:
    snapshot.alpha.kubernetes.io/snapshot: ${seedSnapshotName}
spec:
  accessModes:
     - ReadWriteOnce
  storageClassName: stork-snapshot-sc
  resources:
    requests:
      storage: 2Gi
`;
