import type { DriverNode, DriverVolume, VolumeDriver } from '../driver.js';
import type { VolumeSnapshots } from '../volume-snapshots.js';
import { DriverNotFoundError } from '../driver.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, StorageClass } from '../../wire/k8s-types.js';
import { nodeSelectorMatches } from '../node-selectors.js';
import { quantityValue } from '../quantity.js';
import { registration, type CsiView } from './csi-view.js';
import { csiDriverOfClaim } from './pod-csi-volumes.js';

export const csiDriverName = 'csi';

export interface CsiDriverOptions {
  readonly view: CsiView;
  /** The CSI driver names served now (configured, else every CSIDriver). */
  readonly servedDrivers: () => readonly string[];
  /** Kubernetes nodes and PersistentVolumes, from informers. */
  readonly listNodes: () => readonly Node[];
  readonly listVolumes: () => readonly PersistentVolume[];
  /**
   * Snapshots through the Kubernetes snapshot API, made for the CSI drivers this driver serves (without
   * those another driver owns, as pxd.portworx.com with `pxd,csi`).
   */
  readonly snapshots?: (servesDriver: (name: string) => boolean) => VolumeSnapshots;
}

/**
 * Any CSI storage as a stork driver, from what Kubernetes knows about it: a node serves a CSI driver while
 * the driver's node plugin is registered in the node's CSINode (the kubelet removes the entry when the
 * plugin's registration socket goes away); volumes are the PersistentVolumes of the served drivers.
 *
 * Node status per (CSI driver, node): Online while registered; Offline once a registration seen before is
 * gone. A node that never had the driver registered is no storage node of it (it is left out), so a
 * stork that restarts while a plugin is down treats that node as never having served, the safe side.
 * Replica locations of a replicated CSI storage are unknown to Kubernetes and so to this driver (see
 * docs/csi.md); a volume's `replicaNodeIds` are the nodes its PV's node affinity pins it to, if one.
 */
export class CsiDriver implements VolumeDriver {
  readonly name = csiDriverName;
  readonly snapshots?: VolumeSnapshots;
  private readonly everRegistered = new Set<string>();

  constructor(private readonly options: CsiDriverOptions) {
    if (options.snapshots) this.snapshots = options.snapshots((name) => options.view.servesDriver(name));
  }

  /** The first served CSI driver name: the attacher of the VolumeAttachments the health monitor reads. */
  get csiDriverName(): string {
    return this.options.servedDrivers()[0] ?? '';
  }

  listNodes(): Promise<DriverNode[]> {
    return Promise.resolve(this.nodesNow());
  }

  inspectNode(id: string): Promise<DriverNode> {
    const node = this.nodesNow().find((n) => n.id === id);
    if (!node) return Promise.reject(new DriverNotFoundError(this.name, `node ${id}`));
    return Promise.resolve(node);
  }

  listVolumes(): Promise<DriverVolume[]> {
    return Promise.resolve(this.volumesNow());
  }

  ownsProvisioner(provisioner: string): boolean {
    return this.options.view.servesDriver(provisioner);
  }

  volumeIdOf(pv: PersistentVolume): string | undefined {
    const driver = pv.spec?.csi?.driver;
    return driver && this.options.view.servesDriver(driver) ? pv.spec?.csi?.volumeHandle : undefined;
  }

  ownsClaim(
    pvc: PersistentVolumeClaim,
    pv: PersistentVolume | undefined,
    storageClass: StorageClass | undefined,
  ): boolean {
    return this.csiDriverOf(pvc, pv, storageClass) !== undefined;
  }

  /** The served CSI driver a claim belongs to, if any. */
  csiDriverOf(
    pvc: PersistentVolumeClaim,
    pv: PersistentVolume | undefined,
    storageClass: StorageClass | undefined,
  ): string | undefined {
    return csiDriverOfClaim(pvc, pv, storageClass, this.options.view);
  }

  /**
   * Whether a PV can be used from at most one node now (its node affinity against every node's labels):
   * local storage, whose data is there and nowhere else. A volume no node can reach counts too: moving
   * its pod could not help it. Read live (not from the driver cache), so a PV newer than the last
   * refresh is judged all the same.
   */
  isLocal(pv: PersistentVolume): boolean {
    const affinity = pv.spec?.nodeAffinity?.required;
    if (!affinity) return false;
    let reachable = 0;
    for (const node of this.options.listNodes()) {
      if (nodeSelectorMatches(affinity, node) && ++reachable > 1) return false;
    }
    return true;
  }

  /** The CSI driver names served now. */
  served(): readonly string[] {
    return this.options.servedDrivers();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  private nodesNow(): DriverNode[] {
    const { view } = this.options;
    const nodes: DriverNode[] = [];
    for (const node of this.options.listNodes()) {
      const name = node.metadata?.name ?? '';
      const csiNode = view.csiNode(name);
      for (const driver of this.options.servedDrivers()) {
        const id = `${driver}/${name}`;
        const entry = registration(csiNode, driver);
        if (entry) this.everRegistered.add(id);
        else if (!this.everRegistered.has(id)) continue;
        const ips = (node.status?.addresses ?? [])
          .filter((a) => a.type === 'InternalIP')
          .map((a) => a.address);
        nodes.push({
          id,
          schedulerNodeName: name,
          hostname: name.toLowerCase(),
          ips,
          status: entry ? 'Online' : 'Offline',
        });
      }
    }
    return nodes;
  }

  private volumesNow(): DriverVolume[] {
    const { view } = this.options;
    const nodes = this.options.listNodes();
    const volumes: DriverVolume[] = [];
    for (const pv of this.options.listVolumes()) {
      const csi = pv.spec?.csi;
      if (!csi || !view.servesDriver(csi.driver)) continue;
      const affinity = pv.spec?.nodeAffinity?.required;
      const reachable = affinity ? nodes.filter((n) => nodeSelectorMatches(affinity, n)) : undefined;
      // One node is local storage: the data is there and nowhere else.
      const localTo = reachable?.length === 1 ? [reachable[0]?.metadata?.name ?? ''] : undefined;
      volumes.push({
        id: csi.volumeHandle,
        name: pv.metadata?.name ?? '',
        sizeBytes: quantityValue(pv.spec?.capacity?.storage) ?? 0,
        replicaNodeIds: localTo ? localTo.map((n) => `${csi.driver}/${n}`) : [],
        labels: pv.metadata?.labels ?? {},
        ...(localTo ? { localTo } : {}),
      });
    }
    return volumes;
  }
}
