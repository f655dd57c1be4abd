// The `stork-snapshot` provisioner's second half: a Released PersistentVolume it provisioned, with reclaim
// policy Delete, has its driver volume deleted, then the PV (the external provisioning protocol's delete).
import type { PersistentVolume } from '../../wire/k8s-types.js';
import { getOrUndefined } from '../../k8s/errors.js';
import { resources } from '../../k8s/paths.js';
import { errorText } from '../../lib/errors.js';
import { WorkQueue, type WorkResult } from '../../lib/work-queue.js';
import {
  provisionedByAnnotation,
  provisionerIdentity,
  provisionerIdentityAnnotation,
  snapshotProvisionerName,
} from './names.js';
import type { SnapshotDependencies } from './dependencies.js';

export type VolumeReclaimerOptions = Pick<
  SnapshotDependencies,
  'api' | 'driver' | 'snapshots' | 'volumes' | 'logger' | 'queueObserver'
>;

/** Whether stork's `stork-snapshot` provisioner made this PV (the annotations it writes, as Stork's). */
export function provisionedByStork(pv: PersistentVolume): boolean {
  const annotations = pv.metadata?.annotations ?? {};
  return (
    annotations[provisionedByAnnotation] === snapshotProvisionerName &&
    annotations[provisionerIdentityAnnotation] === provisionerIdentity
  );
}

function reclaimable(pv: PersistentVolume): boolean {
  return (
    pv.status?.phase === 'Released' &&
    pv.spec?.persistentVolumeReclaimPolicy === 'Delete' &&
    provisionedByStork(pv)
  );
}

/** Deletes the Released volumes of the `stork-snapshot` provisioner; one work queue key per PV name. */
export class VolumeReclaimer {
  private readonly queue: WorkQueue;

  constructor(private readonly options: VolumeReclaimerOptions) {
    this.queue = new WorkQueue({
      process: (name, signal) => this.sync(name, signal),
      ...(options.queueObserver ? { observer: options.queueObserver } : {}),
      baseDelayMs: 1000,
      maxDelayMs: 30_000,
      onError: (error, key, attempt) =>
        options.logger.warn({ pv: key, attempt, err: errorText(error) }, 'reclaiming failed; retrying'),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const { volumes } = this.options;
    const enqueue = (pv: PersistentVolume): void => {
      if (reclaimable(pv)) this.queue.add(pv.metadata?.name ?? '');
    };
    const remove = volumes.addHandlers({ onAdd: enqueue, onUpdate: (_, pv) => enqueue(pv) });
    for (const pv of volumes.list()) enqueue(pv);
    try {
      await this.queue.run(signal);
    } finally {
      remove();
    }
  }

  private async sync(name: string, signal: AbortSignal): Promise<WorkResult> {
    const { api, driver, snapshots, logger } = this.options;
    // Deleting data: decide on the PV as the API server has it now, not as the cache last saw it.
    const pv = await getOrUndefined<PersistentVolume>(() => api.get(resources.persistentVolumes, { name }));
    if (!pv || !reclaimable(pv)) return undefined;
    const volumeId = driver.volumeIdOf(pv);
    if (volumeId) await snapshots.deleteVolume(volumeId, signal);
    await getOrUndefined(() => api.delete(resources.persistentVolumes, { name }));
    logger.info({ pv: name, volume: volumeId }, 'deleted released volume');
    return undefined;
  }
}
