import { describe, expect, it } from 'vitest';
import type { VolumeDriver } from '../drivers/driver.js';
import { createDriverCaches } from './driver-caches.js';

// The caches only hold their driver until started; these stand-ins are never called.
const pxd = { name: 'pxd' } as VolumeDriver;
const csi = { name: 'csi' } as VolumeDriver;
const options = { refreshIntervalMs: 1234, volumeRefreshIntervalMs: 5678, onError: () => undefined };

describe('createDriverCaches', () => {
  it('gives the pxd,csi csi cache --driver-refresh-interval, like the primary cache', () => {
    const { cache, csiCache } = createDriverCaches({ primary: pxd, csi }, options);
    expect(cache.refreshIntervalMs).toBe(1234);
    expect(csiCache?.refreshIntervalMs).toBe(1234);
    expect([cache.volumeRefreshIntervalMs, csiCache?.volumeRefreshIntervalMs]).toEqual([5678, 5678]);
  });

  it('runs one cache when one driver reports storage state', () => {
    expect(createDriverCaches({ primary: pxd }, options).csiCache).toBeUndefined();
    // --driver=csi: the csi driver is the primary one, read by the primary cache.
    const csiOnly = createDriverCaches({ primary: csi, csi }, options);
    expect(csiOnly.csiCache).toBeUndefined();
    expect(csiOnly.cache.refreshIntervalMs).toBe(1234);
  });
});
