import type { PersistentVolume, PersistentVolumeClaim } from 'kubernetes-types/core/v1.js';
import type { VolumeDriver } from '../../drivers/driver.js';
import type { VolumeSnapshots } from '../../drivers/volume-snapshots.js';
import type { KubeApi } from '../../k8s/api.js';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import type { EventRecorder } from '../../k8s/events.js';
import type { Informer } from '../../k8s/informer.js';
import type { Logger } from '../../lib/log.js';
import type { WorkQueueObserver } from '../../lib/work-queue.js';

/** What both halves of the snapshot feature (the controller and the provisioner) work with. */
export interface SnapshotDependencies {
  readonly api: KubeApi;
  readonly driver: VolumeDriver;
  readonly snapshots: VolumeSnapshots;
  readonly volumeSnapshots: Informer<VolumeSnapshot>;
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly volumes: Informer<PersistentVolume>;
  readonly events: EventRecorder;
  readonly logger: Logger;
  /** Metrics of the work queue. */
  readonly queueObserver?: WorkQueueObserver;
}
