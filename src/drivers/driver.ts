import type { PersistentVolume, PersistentVolumeClaim, StorageClass } from '../wire/k8s-types.js';
import type { VolumeSnapshots } from './volume-snapshots.js';

/**
 * A storage node's health as the scheduler and the health monitor see it. Only Online and StorageDown
 * nodes take new pods; what the health monitor does with each status is in
 * `controllers/health-monitor/status-policy.ts` (and docs/health-monitor.md).
 * - Online: serves I/O and can host pods.
 * - StorageDown: the node's own storage is down but its volumes stay reachable (over the network);
 *   pods may run there, ranked lower.
 * - Degraded: serving, but impaired (e.g. rebalancing); not a place for new pods.
 * - Offline: not serving; pods using its volumes should move.
 * - Initializing: the storage driver is still starting on the node (not serving yet).
 * - Maintenance: an operator put the node's storage into maintenance (planned work).
 * - NotInQuorum: the node reports that the storage cluster it sees has no quorum.
 * - Unknown: a status the driver reported that stork does not know (e.g. one newer than stork).
 */
export type DriverNodeStatus =
  | 'Online'
  | 'Offline'
  | 'Degraded'
  | 'StorageDown'
  | 'Initializing'
  | 'Maintenance'
  | 'NotInQuorum'
  | 'Unknown';

export interface DriverNode {
  /** The storage system's id for the node; volumes name their replicas by it. */
  readonly id: string;
  /** The Kubernetes node name the storage system knows the node by, if it reports one. */
  readonly schedulerNodeName?: string;
  /** Lower-case hostname. */
  readonly hostname: string;
  readonly ips: readonly string[];
  readonly status: DriverNodeStatus;
  /** Topology the storage system reports itself; Kubernetes node labels take precedence. */
  readonly rack?: string;
  readonly zone?: string;
  readonly region?: string;
}

export interface DriverVolume {
  readonly id: string;
  readonly name: string;
  readonly sizeBytes: number;
  /** Ids of the nodes that hold a replica (the union over replica sets). */
  readonly replicaNodeIds: readonly string[];
  /** The volume or snapshot this one was created from. */
  readonly parentId?: string;
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Kubernetes nodes the volume's data can only be used from, when it is local storage (a CSI
   * PersistentVolume whose node affinity admits one node); absent for network-attached volumes. A pod
   * on such a node cannot be moved away from its data, whatever the node's storage status.
   */
  readonly localTo?: readonly string[];
}

/** The storage system could not answer (unreachable, auth, internal error); always retryable later. */
export class DriverError extends Error {
  constructor(
    readonly driver: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${driver}: ${message}`, options);
    this.name = 'DriverError';
  }
}

/** The storage system has no such volume or node. */
export class DriverNotFoundError extends DriverError {
  constructor(driver: string, what: string, options?: ErrorOptions) {
    super(driver, `${what} not found`, options);
    this.name = 'DriverNotFoundError';
  }
}

/**
 * What a storage system implements for the scheduler extender and the health monitor. The calls that
 * talk to the storage system are async and may be slow; nothing on a request path calls them directly
 * (see DriverCache). The Kubernetes-facing methods are pure functions of the objects given.
 */
export interface VolumeDriver {
  /** The `--driver` name, e.g. `pxd`. */
  readonly name: string;
  /** The CSI driver the storage system registers (its VolumeAttachments' `attacher`), e.g. `pxd.portworx.com`. */
  readonly csiDriverName: string;

  /** Every node of the storage cluster with its current status. */
  listNodes(signal?: AbortSignal): Promise<DriverNode[]>;
  /** One node, asked afresh (used to re-check a node before acting on it). */
  inspectNode(id: string, signal?: AbortSignal): Promise<DriverNode>;
  /** Every volume with its replica placement. */
  listVolumes(signal?: AbortSignal): Promise<DriverVolume[]>;

  /** Whether volumes from this provisioner (a StorageClass's or PVC's) belong to this driver. */
  ownsProvisioner(provisioner: string): boolean;
  /** The driver's volume id behind a PersistentVolume, or undefined if the PV is not this driver's. */
  volumeIdOf(pv: PersistentVolume): string | undefined;
  /**
   * Whether a claim is this driver's: by its bound PV if it has one, else by the provisioner named on
   * the claim or by its StorageClass.
   */
  ownsClaim(
    pvc: PersistentVolumeClaim,
    pv: PersistentVolume | undefined,
    storageClass: StorageClass | undefined,
  ): boolean;

  /** Snapshots and restores, when the storage system supports them (the snapshot controller needs it). */
  readonly snapshots?: VolumeSnapshots;

  /** Releases connections. */
  close(): Promise<void>;
}
