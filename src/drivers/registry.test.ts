import { afterEach, describe, expect, it } from 'vitest';
import type { VolumeDriver } from './driver.js';
import { PortworxDriver } from './portworx/portworx-driver.js';
import { CompositeDriver, noReplicaDriver } from './composite.js';
import { CsiDriver } from './csi/csi-driver.js';
import { staticCsiView } from './csi/csi-view.js';
import { claim, csiDriver, localDriver, podWithClaims, storageClass } from './csi/testing-fixtures.js';
import { usesDriverVolumes } from './pod-claims.js';
import { createDriver, createDrivers, driverNames, parseDriverList } from './registry.js';

describe('createDriver', () => {
  const created: VolumeDriver[] = [];
  afterEach(async () => {
    await Promise.all(created.splice(0).map((d) => d.close()));
  });

  it('creates the Portworx driver for pxd', () => {
    const driver = createDriver('pxd', { endpoint: '127.0.0.1:9020', token: 't', callTimeoutMs: 1000 });
    created.push(driver);
    expect(driver).toBeInstanceOf(PortworxDriver);
    expect(driver.name).toBe('pxd');
  });

  it('rejects an unknown name, naming it and the known ones', () => {
    expect(() => createDriver('mock', { endpoint: '127.0.0.1:1' })).toThrow(
      'unknown volume driver "mock"; known drivers: csi, pxd',
    );
    expect(driverNames).toEqual(['csi', 'pxd']);
  });

  it('does not take inherited object keys for driver names', () => {
    expect(() => createDriver('toString', { endpoint: '127.0.0.1:1' })).toThrow(
      /unknown volume driver "toString"/,
    );
  });

  it('passes the options through: a bad endpoint is refused', () => {
    expect(() => createDriver('pxd', { endpoint: 'no-port' })).toThrow('invalid SDK endpoint "no-port"');
  });
});

const csiOptions = {
  view: staticCsiView({ drivers: [csiDriver(localDriver, true)] }),
  servedDrivers: () => [localDriver],
  listNodes: () => [],
  listVolumes: () => [],
};

describe('parseDriverList', () => {
  it.each([
    ['pxd', ['pxd']],
    ['pxd,csi', ['pxd', 'csi']],
    [' csi , pxd ', ['csi', 'pxd']],
  ])('accepts %j', (value, expected) => {
    expect(parseDriverList(value)).toEqual(expected);
  });

  it.each([
    ['pxd,mock', /unknown volume driver "mock"/],
    ['pxd,pxd', /"pxd" is named twice/],
    ['', /unknown volume driver ""/],
  ])('rejects %j', (value, error) => {
    expect(() => parseDriverList(value)).toThrow(error);
  });
});

describe('createDrivers', () => {
  it('pxd alone is the Portworx driver in every role, as before', async () => {
    const set = createDrivers('pxd', { endpoint: '127.0.0.1:9020' }, undefined);
    expect(set.driver).toBeInstanceOf(PortworxDriver);
    expect(set.replicaDriver).toBe(set.driver);
    expect(set.primary).toBe(set.driver);
    expect(set.csi).toBeUndefined();
    await set.driver.close();
  });

  it('csi alone: no replica driver, the csi driver is primary', () => {
    const set = createDrivers('csi', { endpoint: '' }, csiOptions);
    expect(set.driver).toBeInstanceOf(CsiDriver);
    expect(set.replicaDriver).toBe(noReplicaDriver);
    expect(set.primary).toBe(set.csi);
  });

  it('pxd,csi: one composite that owns either driver’s claims, each claim by exactly one member', async () => {
    const set = createDrivers('pxd,csi', { endpoint: '127.0.0.1:9020' }, csiOptions);
    expect(set.driver).toBeInstanceOf(CompositeDriver);
    expect(set.driver.name).toBe('pxd,csi');
    expect(set.replicaDriver).toBeInstanceOf(PortworxDriver);
    const composite = set.driver;
    if (!(composite instanceof CompositeDriver)) throw new Error('not a composite');
    const csiClaim = claim('a', 'local', '1Gi');
    const csiClass = storageClass('local', localDriver, true);
    expect(composite.driverOfClaim(csiClaim, undefined, csiClass)).toBe(set.csi);
    const pxClass = storageClass('px', 'pxd.portworx.com', false);
    expect(composite.driverOfClaim(claim('b', 'px', '1Gi'), undefined, pxClass)).toBe(set.replicaDriver);
    expect(
      composite.ownsClaim(claim('c', 'x', '1Gi'), undefined, storageClass('x', 'ebs.csi.aws.com', false)),
    ).toBe(false);
    await set.driver.close();
  });

  it('a CSI driver name another member owns is not the csi driver’s: each claim has one driver', async () => {
    const everyDriver = {
      ...csiOptions,
      view: staticCsiView({ drivers: [csiDriver(localDriver, true), csiDriver('pxd.portworx.com', false)] }),
      servedDrivers: () => [localDriver, 'pxd.portworx.com'],
    };
    const set = createDrivers('pxd,csi', { endpoint: '127.0.0.1:9020' }, everyDriver);
    const pxClass = storageClass('px', 'pxd.portworx.com', false);
    expect(set.csi?.ownsClaim(claim('b', 'px', '1Gi'), undefined, pxClass)).toBe(false);
    expect(set.csiView?.servesDriver('pxd.portworx.com')).toBe(false);
    expect(set.csiView?.servesDriver(localDriver)).toBe(true);
    expect(set.csi?.csiDriverName).toBe(localDriver);
    await set.driver.close();
  });

  it('csi needs its Kubernetes side', () => {
    expect(() => createDrivers('csi', { endpoint: '' }, undefined)).toThrow(/CSI informers/);
  });
});

describe('the composite in the webhook’s opt-in', () => {
  it('a pod with a csi claim uses driver volumes; one with another CSI driver’s claim does not', async () => {
    const set = createDrivers('pxd,csi', { endpoint: '127.0.0.1:9020' }, csiOptions);
    const classes = new Map([
      ['local', storageClass('local', localDriver, true)],
      ['ebs', storageClass('ebs', 'ebs.csi.aws.com', false)],
    ]);
    const claims = new Map([
      ['a', claim('a', 'local', '1Gi')],
      ['b', claim('b', 'ebs', '1Gi')],
    ]);
    const lookups = {
      getClaim: (name: string, _ns: string) => claims.get(name),
      getVolume: () => undefined,
      getStorageClass: (name: string) => classes.get(name),
    };
    expect(usesDriverVolumes(podWithClaims('a'), set.driver, lookups)).toBe(true);
    expect(usesDriverVolumes(podWithClaims('b'), set.driver, lookups)).toBe(false);
    await set.driver.close();
  });
});
