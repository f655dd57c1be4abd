import { describe, expect, it } from 'vitest';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../wire/k8s-types.js';
import { ownsClaim, ownsProvisioner, volumeIdOf } from './kubernetes.js';

const inTreePv: PersistentVolume = { spec: { portworxVolume: { volumeID: '1001' } } };
const csiPv: PersistentVolume = { spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: '2002' } } };
const otherCsiPv: PersistentVolume = { spec: { csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-1' } } };
const hostPathPv: PersistentVolume = { spec: { hostPath: { path: '/data' } } };

function claim(annotations: Record<string, string> = {}): PersistentVolumeClaim {
  return { metadata: { name: 'data', annotations }, spec: { storageClassName: 'fast' } };
}
function storageClass(provisioner: string): StorageClass {
  return { metadata: { name: 'fast' }, provisioner };
}

describe('volumeIdOf', () => {
  it('reads the in-tree Portworx volume id', () => {
    expect(volumeIdOf(inTreePv)).toBe('1001');
  });
  it('reads the volume handle of a Portworx CSI volume', () => {
    expect(volumeIdOf(csiPv)).toBe('2002');
  });
  it('is undefined for other CSI drivers, other volume types and an empty spec', () => {
    expect(volumeIdOf(otherCsiPv)).toBeUndefined();
    expect(volumeIdOf(hostPathPv)).toBeUndefined();
    expect(volumeIdOf({})).toBeUndefined();
  });
});

describe('ownsProvisioner', () => {
  it.each(['kubernetes.io/portworx-volume', 'pxd.portworx.com', 'stork-snapshot'])('owns %s', (p) => {
    expect(ownsProvisioner(p)).toBe(true);
  });
  it.each(['ebs.csi.aws.com', 'kubernetes.io/aws-ebs', '', 'PXD.PORTWORX.COM'])('does not own "%s"', (p) => {
    expect(ownsProvisioner(p)).toBe(false);
  });
});

describe('ownsClaim', () => {
  it('goes by the bound PV, whatever the class says', () => {
    expect(ownsClaim(claim(), csiPv, storageClass('ebs.csi.aws.com'))).toBe(true);
    expect(ownsClaim(claim(), otherCsiPv, storageClass('pxd.portworx.com'))).toBe(false);
  });

  it('goes by the provisioner annotation of an unbound claim before its class', () => {
    const annotated = claim({ 'volume.kubernetes.io/storage-provisioner': 'pxd.portworx.com' });
    expect(ownsClaim(annotated, undefined, storageClass('ebs.csi.aws.com'))).toBe(true);
    const beta = claim({ 'volume.beta.kubernetes.io/storage-provisioner': 'ebs.csi.aws.com' });
    expect(ownsClaim(beta, undefined, storageClass('pxd.portworx.com'))).toBe(false);
  });

  it("goes by the class's provisioner of an unbound, unannotated claim", () => {
    expect(ownsClaim(claim(), undefined, storageClass('kubernetes.io/portworx-volume'))).toBe(true);
    expect(ownsClaim(claim(), undefined, storageClass('stork-snapshot'))).toBe(true);
    expect(ownsClaim(claim(), undefined, storageClass('kubernetes.io/aws-ebs'))).toBe(false);
  });

  it('does not own a claim whose provisioner is unknown', () => {
    expect(ownsClaim(claim(), undefined, undefined)).toBe(false);
  });
});
