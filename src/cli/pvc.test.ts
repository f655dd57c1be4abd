import { describe, expect, it } from 'vitest';
import { restoreClaim } from './pvc.js';

describe('restoreClaim', () => {
  it("uses Stork's snapshot storage class and annotations", () => {
    expect(restoreClaim('c', 'ns', { snapshot: 's', size: '1.5Gi', sourceNs: 'src' })).toEqual({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: {
        name: 'c',
        namespace: 'ns',
        annotations: {
          'snapshot.alpha.kubernetes.io/snapshot': 's',
          'stork/snapshot-source-namespace': 'src',
        },
      },
      spec: {
        storageClassName: 'stork-snapshot-sc',
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1.5Gi' } },
      },
    });
  });

  it('rejects what Stork rejects, and bad quantities and access modes', () => {
    expect(() => restoreClaim('c', 'ns', { snapshot: 's' })).toThrow('Size needs to be provided');
    expect(() => restoreClaim('c', 'ns', { size: '1Gi' })).toThrow('Snapshot name needs to be provided');
    for (const size of ['1 Gi', 'Gi', '1GB', '-1Gi']) {
      expect(() => restoreClaim('c', 'ns', { snapshot: 's', size })).toThrow('invalid size');
    }
    for (const size of ['10', '2Gi', '500M', '1e3', '0.5Ti']) {
      expect(restoreClaim('c', 'ns', { snapshot: 's', size }).spec?.resources?.requests?.storage).toBe(size);
    }
    expect(() => restoreClaim('c', 'ns', { snapshot: 's', size: '1Gi', accessMode: 'rwo' })).toThrow(
      'invalid access mode',
    );
  });
});
