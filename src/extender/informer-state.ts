import type { VolumeDriver } from '../drivers/driver.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../wire/k8s-types.js';
import type { DriverCache } from '../drivers/cache.js';
import type { Informer } from '../k8s/informer.js';
import type { ClusterState } from './cluster-state.js';
import type { CsiView } from '../drivers/csi/csi-view.js';

export interface SchedulingInformers {
  readonly nodes: Informer<Node>;
  readonly claims: Informer<PersistentVolumeClaim>;
  readonly volumes: Informer<PersistentVolume>;
  readonly storageClasses: Informer<StorageClass>;
}

/**
 * The extender's view of the cluster, read from informer caches and the driver cache: one object per
 * request, so a decision sees the driver snapshot that was current when the request arrived.
 */
export function informerClusterState(
  informers: SchedulingInformers,
  driver: Pick<VolumeDriver, 'name' | 'ownsClaim' | 'volumeIdOf'>,
  cache: DriverCache,
  rackLabel: string,
  csi?: CsiView,
): () => ClusterState {
  let nodeList: { version: number; nodes: readonly Node[] } | undefined;
  const listNodes = (): readonly Node[] => {
    const version = informers.nodes.version;
    if (nodeList?.version !== version) nodeList = { version, nodes: informers.nodes.list() };
    return nodeList.nodes;
  };
  return () => ({
    driver,
    snapshot: cache.snapshot(),
    getClaim: (name, namespace) => informers.claims.get(name, namespace),
    getVolume: (name) => informers.volumes.get(name),
    getStorageClass: (name) => informers.storageClasses.get(name),
    getNode: (name) => informers.nodes.get(name),
    listNodes,
    nodesVersion: informers.nodes.version,
    rackLabel,
    unsyncedCaches: [informers.nodes, informers.claims, informers.volumes, informers.storageClasses]
      .filter((i) => !i.synced)
      .map((i) => i.status().resource),
    ...(csi ? { csi } : {}),
  });
}
