import type { PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import type { VolumeDriver } from '../../drivers/driver.js';
import type { VolumeSnapshots } from '../../drivers/volume-snapshots.js';
import type { KubeClient } from '../../k8s/client.js';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import type { EventRecorder } from '../../k8s/events.js';
import type { Informer, KubeObject } from '../../k8s/informer.js';
import type { Logger } from '../../lib/log.js';
import type { WorkQueueObserver } from '../../lib/work-queue.js';

/** The part of an informer the snapshot feature reads: its cache and its events. */
export type InformerView<T extends KubeObject> = Pick<Informer<T>, 'get' | 'list' | 'addHandlers'>;

/** What both halves of the snapshot feature (the controller and the provisioner) work with. */
export interface SnapshotDependencies {
  readonly api: KubeClient;
  readonly driver: VolumeDriver;
  readonly snapshots: VolumeSnapshots;
  readonly volumeSnapshots: InformerView<VolumeSnapshot>;
  readonly claims: InformerView<PersistentVolumeClaim>;
  readonly volumes: InformerView<PersistentVolume>;
  readonly events: EventRecorder;
  readonly logger: Logger;
  /** Metrics of the work queue. */
  readonly queueObserver?: WorkQueueObserver;
}
