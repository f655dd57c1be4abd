import type { DriverCache } from '../drivers/cache.js';
import type { VolumeDriver } from '../drivers/driver.js';
import type { InformerHandlers } from '../k8s/informer.js';
import type { PersistentVolume } from '../wire/k8s-types.js';

/** A driver cache and the driver whose volume ids it holds. */
export interface VolumeCacheTarget {
  readonly driver: Pick<VolumeDriver, 'volumeIdOf'>;
  readonly cache: Pick<DriverCache, 'requestVolume'>;
}

/**
 * Tells the driver caches about each volume a PersistentVolume names that they have not listed yet, as
 * soon as the PV appears: the caches list every volume only every `--driver-volume-refresh-interval`,
 * and a volume made meanwhile should not wait that long to be placed or reported (the placement report
 * of a pinned pod, which asks the extender nothing). `requestVolume` ignores volumes a cache knows, and
 * brings at most one listing forward per node refresh interval, however many PVs arrive.
 */
export function announceNewVolumes(
  volumes: { addHandlers(handlers: InformerHandlers<PersistentVolume>): () => void },
  targets: readonly VolumeCacheTarget[],
): () => void {
  const announce = (pv: PersistentVolume): void => {
    for (const { driver, cache } of targets) {
      const id = driver.volumeIdOf(pv);
      if (id) cache.requestVolume(id);
    }
  };
  return volumes.addHandlers({ onAdd: announce, onUpdate: (_previous, pv) => announce(pv) });
}
