import { afterEach, describe, expect, it } from 'vitest';
import type { VolumeDriver } from './driver.js';
import { PortworxDriver } from './portworx/portworx-driver.js';
import { createDriver, driverNames } from './registry.js';

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
      'unknown volume driver "mock"; known drivers: pxd',
    );
    expect(driverNames).toEqual(['pxd']);
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
