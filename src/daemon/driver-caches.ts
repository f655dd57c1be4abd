import { DriverCache } from '../drivers/cache.js';
import type { VolumeDriver } from '../drivers/driver.js';

/** The driver caches stork runs. */
export interface DriverCaches {
  /** The primary driver's cache: the extender, the snapshotter and the health monitor read it. */
  readonly cache: DriverCache;
  /** With pxd and csi both, the csi driver's volumes are read by a cache of their own (in memory only). */
  readonly csiCache: DriverCache | undefined;
}

/**
 * One cache per driver that reports storage state. Every one refreshes every `--driver-refresh-interval`:
 * a CSI node counts as a storage node only once a refresh has seen its plugin registered, so a cache left
 * at its default would detect a plugin's death later than configured.
 */
export function createDriverCaches(
  drivers: { readonly primary: VolumeDriver; readonly csi?: VolumeDriver | undefined },
  options: {
    readonly refreshIntervalMs: number;
    readonly volumeRefreshIntervalMs?: number;
    readonly onError: (error: unknown, context: string) => void;
  },
): DriverCaches {
  const { refreshIntervalMs, volumeRefreshIntervalMs, onError } = options;
  const intervals = {
    refreshIntervalMs,
    ...(volumeRefreshIntervalMs !== undefined ? { volumeRefreshIntervalMs } : {}),
  };
  const cache = new DriverCache({ driver: drivers.primary, ...intervals, onError });
  const csiCache =
    drivers.csi && drivers.csi !== drivers.primary
      ? new DriverCache({ driver: drivers.csi, ...intervals, onError })
      : undefined;
  return { cache, csiCache };
}
