import type { VolumeDriver } from '../drivers/driver.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../wire/k8s-types.js';
import type { DriverState } from '../drivers/driver-state.js';
import type { CsiView } from '../drivers/csi/csi-view.js';

/**
 * Everything a scheduling decision reads, all from memory: informer caches for Kubernetes objects and the
 * driver cache's snapshot. Decisions are pure functions of this, so they are tested without a server.
 */
export interface ClusterState {
  readonly driver: Pick<VolumeDriver, 'name' | 'ownsClaim' | 'volumeIdOf'>;
  readonly snapshot: DriverState;
  getClaim(name: string, namespace: string): PersistentVolumeClaim | undefined;
  getVolume(name: string): PersistentVolume | undefined;
  getStorageClass(name: string): StorageClass | undefined;
  getNode(name: string): Node | undefined;
  /** Every Kubernetes node (to find where replicas live, even on nodes not offered to this pod). */
  listNodes(): readonly Node[];
  /** Changes whenever the node list does. */
  readonly nodesVersion: number;
  /** The Node label that names a node's rack, in addition to `px/rack`. */
  readonly rackLabel: string;
  /** Caches the decision reads that have not synced yet (their resource names); absent or empty: all have. */
  readonly unsyncedCaches?: readonly string[];
  /** The csi driver's view (CSINode, CSIDriver, CSIStorageCapacity), when stork runs it. */
  readonly csi?: CsiView;
}
