import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { seedCloneManifest, seedSnapshotManifest } from './seed-manifests.js';

describe('the seed documents', () => {
  it('the snapshot of mysql-data, with and without annotations', () => {
    expect(parse(seedSnapshotManifest())).toEqual({
      apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'mysql-snapshot' },
      spec: { persistentVolumeClaimName: 'mysql-data' },
    });
    const annotated = parse(
      seedSnapshotManifest({ 'stork.libopenstorage.org/pre-snapshot-rule': 'pre' }),
    ) as {
      metadata: unknown;
    };
    expect(annotated.metadata).toEqual({
      name: 'mysql-snapshot',
      annotations: { 'stork.libopenstorage.org/pre-snapshot-rule': 'pre' },
    });
  });

  it('the restore names the snapshot and stork-snapshot-sc', () => {
    expect(parse(seedCloneManifest)).toMatchObject({
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'mysql-snap-clone',
        annotations: { 'snapshot.alpha.kubernetes.io/snapshot': 'mysql-snapshot' },
      },
      spec: { storageClassName: 'stork-snapshot-sc', resources: { requests: { storage: '2Gi' } } },
    });
  });
});
