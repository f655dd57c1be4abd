import type { VolumeDriver } from '../driver.js';
import type { PersistentVolume } from '../../wire/k8s-types.js';
import type { DriverState } from '../driver-state.js';
import type { CsiDriver } from './csi-driver.js';

/** What the health monitor needs of one CSI driver name: a driver of its own, its nodes, its local volumes. */
export interface CsiHealthScope {
  readonly driver: Pick<VolumeDriver, 'name' | 'csiDriverName' | 'inspectNode' | 'ownsClaim'>;
  readonly storage: { snapshot(): DriverState };
  readonly localToOneNode: (pv: PersistentVolume) => boolean;
}

/**
 * The csi driver narrowed to one CSI driver name, for the health monitor. Each CSI driver is its own
 * storage system there: its node plugin on a node can die while another driver's lives, and a node is
 * judged by each driver's registration, not by the healthiest of them (which would hide the dead one).
 * The claims it owns are that driver's only; VolumeAttachments are matched by that driver's name.
 */
export function csiHealthScope(
  csi: Pick<CsiDriver, 'inspectNode' | 'csiDriverOf' | 'isLocal'>,
  cache: { snapshot(): DriverState },
  csiName: string,
): CsiHealthScope {
  const prefix = `${csiName}/`;
  let memo: { source: DriverState; scoped: DriverState } | undefined;
  const snapshot = (): DriverState => {
    const source = cache.snapshot();
    if (memo?.source !== source) {
      // Same version as the source: the monitor redoes its node matching only on a new snapshot.
      const nodes = source.nodes.filter((n) => n.id.startsWith(prefix));
      memo = { source, scoped: { ...source, nodes, nodesById: new Map(nodes.map((n) => [n.id, n])) } };
    }
    return memo.scoped;
  };
  return {
    driver: {
      name: csiName,
      csiDriverName: csiName,
      inspectNode: (id) => csi.inspectNode(id),
      ownsClaim: (pvc, pv, storageClass) => csi.csiDriverOf(pvc, pv, storageClass) === csiName,
    },
    storage: { snapshot },
    // Any driver's PV: a pod with a volume local to its node stays, whichever driver failed.
    localToOneNode: (pv) => csi.isLocal(pv),
  };
}
