import type { DriverNode, DriverVolume, VolumeDriver } from './driver.js';
import { DriverNotFoundError } from './driver.js';
import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../wire/k8s-types.js';
import { routedSnapshots } from './routed-snapshots.js';

/**
 * Several drivers presented as one (`--driver=pxd,csi`), so that what serves every driver alike (the
 * webhook's opt-in, ownership of claims) needs no change. Each claim belongs to exactly one member: the
 * first, in `--driver` order, that owns it. Node ids are unique across members (pxd ids are the storage
 * system's, csi ids `<csi driver>/<node>`), so listings are concatenated.
 */
export class CompositeDriver implements VolumeDriver {
  readonly name: string;
  readonly csiDriverName: string;
  /** The members' snapshots: one member's, or routed among several (pxd and csi). */
  readonly snapshots?: NonNullable<VolumeDriver['snapshots']>;

  constructor(readonly members: readonly VolumeDriver[]) {
    if (members.length === 0) throw new Error('a composite driver needs at least one driver');
    this.name = members.map((m) => m.name).join(',');
    this.csiDriverName = members[0]?.csiDriverName ?? '';
    const all = members.flatMap((m) => (m.snapshots ? [m.snapshots] : []));
    const [first] = all;
    if (first) this.snapshots = all.length === 1 ? first : routedSnapshots(all);
  }

  /** The member a claim belongs to, if any. */
  driverOfClaim(
    pvc: PersistentVolumeClaim,
    pv: PersistentVolume | undefined,
    storageClass: StorageClass | undefined,
  ): VolumeDriver | undefined {
    return this.members.find((m) => m.ownsClaim(pvc, pv, storageClass));
  }

  async listNodes(signal?: AbortSignal): Promise<DriverNode[]> {
    return (await Promise.all(this.members.map((m) => m.listNodes(signal)))).flat();
  }

  async inspectNode(id: string, signal?: AbortSignal): Promise<DriverNode> {
    for (const member of this.members) {
      try {
        return await member.inspectNode(id, signal);
      } catch (error) {
        if (!(error instanceof DriverNotFoundError)) throw error;
      }
    }
    throw new DriverNotFoundError(this.name, `node ${id}`);
  }

  async listVolumes(signal?: AbortSignal): Promise<DriverVolume[]> {
    return (await Promise.all(this.members.map((m) => m.listVolumes(signal)))).flat();
  }

  ownsProvisioner(provisioner: string): boolean {
    return this.members.some((m) => m.ownsProvisioner(provisioner));
  }

  volumeIdOf(pv: PersistentVolume): string | undefined {
    for (const member of this.members) {
      const id = member.volumeIdOf(pv);
      if (id !== undefined) return id;
    }
    return undefined;
  }

  ownsClaim(
    pvc: PersistentVolumeClaim,
    pv: PersistentVolume | undefined,
    storageClass: StorageClass | undefined,
  ): boolean {
    return this.driverOfClaim(pvc, pv, storageClass) !== undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.close()));
  }
}

/**
 * Stands in for the replica-aware driver when stork runs none (`--driver=csi`): it owns nothing, so the
 * replica-based decisions see a pod without driver volumes and leave the pod to the csi driver.
 */
export const noReplicaDriver: VolumeDriver = {
  name: 'none',
  csiDriverName: '',
  listNodes: () => Promise.resolve([]),
  inspectNode: (id) => Promise.reject(new DriverNotFoundError('none', `node ${id}`)),
  listVolumes: () => Promise.resolve([]),
  ownsProvisioner: () => false,
  volumeIdOf: () => undefined,
  ownsClaim: () => false,
  close: () => Promise.resolve(),
};
