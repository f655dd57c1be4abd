import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../wire/k8s-types.js';
import type { VolumeDriver } from '../drivers/driver.js';
import { ClaimProvisioner } from '../controllers/snapshot/claim-provisioner.js';
import { CsiRestores } from '../controllers/snapshot/csi-restore.js';
import { VolumeReclaimer } from '../controllers/snapshot/volume-reclaimer.js';
import { SnapshotController } from '../controllers/snapshot/snapshot-controller.js';
import { GroupSnapshotController } from '../controllers/group-snapshot/group-snapshot-controller.js';
import type { GroupVolumeSnapshot } from '../k8s/crds/group-volume-snapshot.js';
import type { NativeGroupSnapshots } from '../controllers/group-snapshot/native.js';
import type { SnapshotHooks } from '../controllers/snapshot/hooks.js';
import type { KubeApi } from '../k8s/api.js';
import type { VolumeSnapshot } from '../k8s/crds/volume-snapshot.js';
import type { EventRecorder } from '../k8s/events.js';
import { Informer } from '../k8s/informer.js';
import { resources } from '../k8s/paths.js';
import type { Logger } from '../lib/log.js';
import type { WorkQueueObserver } from '../lib/work-queue.js';

export interface SnapshotterOptions {
  readonly api: KubeApi;
  readonly driver: VolumeDriver;
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly volumes: Informer<PersistentVolume>;
  readonly storageClasses: Informer<StorageClass>;
  readonly events: EventRecorder;
  readonly logger: Logger;
  readonly hooks?: SnapshotHooks;
  /** The rules of GroupVolumeSnapshots (their spec's pre- and post-exec rules). */
  readonly groupHooks?: SnapshotHooks;
  readonly onError: (error: unknown, context: string) => void;
  /** Work queue metrics, by queue name. */
  readonly workQueueMetrics?: (name: string) => WorkQueueObserver;
  /** Native group snapshots of CSI volumes (with the csi driver). */
  readonly csiGroupSnapshots?: NativeGroupSnapshots;
  /** Snapshots the controller works on at once (its default otherwise). */
  readonly snapshotConcurrency?: number;
}

/**
 * One leader term of the snapshot feature: the VolumeSnapshot informer, the snapshot controller and the
 * `stork-snapshot` provisioner's two halves (claim provisioner, volume reclaimer), all stopped when
 * `signal` aborts.
 */
export async function runSnapshotter(options: SnapshotterOptions, signal: AbortSignal): Promise<void> {
  const { api, driver, logger } = options;
  const snapshots = driver.snapshots;
  if (!snapshots) {
    logger.error({ driver: driver.name }, 'the driver does not support snapshots; snapshotter not started');
    return;
  }
  const volumeSnapshots = new Informer<VolumeSnapshot>({
    api,
    type: resources.volumeSnapshots,
    onError: options.onError,
  });
  const groups = new Informer<GroupVolumeSnapshot>({
    api,
    type: resources.groupVolumeSnapshots,
    onError: options.onError,
  });
  try {
    await Promise.all([volumeSnapshots.start(signal), groups.start(signal)]);
    const common = {
      api,
      driver,
      snapshots,
      volumeSnapshots,
      claims: options.claims,
      volumes: options.volumes,
      events: options.events,
    };
    const controller = new SnapshotController({
      ...common,
      logger: logger.child({ controller: 'snapshot' }),
      ...(options.workQueueMetrics ? { queueObserver: options.workQueueMetrics('snapshot') } : {}),
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(options.snapshotConcurrency !== undefined ? { concurrency: options.snapshotConcurrency } : {}),
    });
    // Only snapshots the csi driver took name a CSI snapshot, so without it this is never asked to restore;
    // it still looks for (and finds nothing of) its own objects when a held claim is released.
    const csiRestores = new CsiRestores({
      api,
      events: options.events,
      logger: logger.child({ controller: 'snapshot-provisioner' }),
      storageClasses: options.storageClasses,
      volumeByHandle: (csiDriver, handle) =>
        options.volumes
          .list()
          .find((pv) => pv.spec?.csi?.driver === csiDriver && pv.spec.csi.volumeHandle === handle),
    });
    const provisioner = new ClaimProvisioner({
      ...common,
      csiRestores,
      storageClasses: options.storageClasses,
      logger: logger.child({ controller: 'snapshot-provisioner' }),
      ...(options.workQueueMetrics
        ? { queueObserver: options.workQueueMetrics('snapshot-provisioner') }
        : {}),
    });
    const reclaimer = new VolumeReclaimer({
      ...common,
      logger: logger.child({ controller: 'snapshot-reclaimer' }),
      ...(options.workQueueMetrics ? { queueObserver: options.workQueueMetrics('snapshot-reclaimer') } : {}),
    });
    const groupController = new GroupSnapshotController({
      ...common,
      groups,
      logger: logger.child({ controller: 'group-snapshot' }),
      ...(options.workQueueMetrics ? { queueObserver: options.workQueueMetrics('group-snapshot') } : {}),
      ...(options.groupHooks ? { hooks: options.groupHooks } : {}),
      ...(options.csiGroupSnapshots ? { nativeGroupSnapshots: options.csiGroupSnapshots } : {}),
    });
    await Promise.all([
      controller.run(signal),
      provisioner.run(signal),
      reclaimer.run(signal),
      groupController.run(signal),
    ]);
  } finally {
    volumeSnapshots.stop();
    groups.stop();
    await Promise.all([volumeSnapshots.stopped(), groups.stopped()]);
  }
}
