import { describe, expect, it } from 'vitest';
import { claimProvisioner, claimStorageClassName } from './ownership.js';

describe('claimProvisioner', () => {
  it('prefers the provisioner the PV controller recorded on the claim', () => {
    expect(
      claimProvisioner(
        { metadata: { annotations: { 'volume.kubernetes.io/storage-provisioner': 'pxd.portworx.com' } } },
        { metadata: { name: 'sc' }, provisioner: 'other' },
      ),
    ).toBe('pxd.portworx.com');
  });

  it('reads the legacy beta annotation', () => {
    expect(
      claimProvisioner(
        {
          metadata: {
            annotations: { 'volume.beta.kubernetes.io/storage-provisioner': 'kubernetes.io/portworx-volume' },
          },
        },
        undefined,
      ),
    ).toBe('kubernetes.io/portworx-volume');
  });

  it("falls back to the StorageClass's provisioner, and to nothing", () => {
    expect(
      claimProvisioner({ metadata: {} }, { metadata: { name: 'sc' }, provisioner: 'stork-snapshot' }),
    ).toBe('stork-snapshot');
    expect(claimProvisioner({ metadata: {} }, undefined)).toBeUndefined();
  });
});

describe('claimStorageClassName', () => {
  it('reads the field, then the beta annotation', () => {
    expect(claimStorageClassName({ spec: { storageClassName: 'a' } })).toBe('a');
    expect(
      claimStorageClassName({
        metadata: { annotations: { 'volume.beta.kubernetes.io/storage-class': 'b' } },
      }),
    ).toBe('b');
    expect(claimStorageClassName({})).toBeUndefined();
  });
});
