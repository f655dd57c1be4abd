// The in-memory model of the storage simulator (a test and demo tool, not a storage system): a
// multi-node cluster whose volumes have replicas on chosen nodes. The gRPC server and the admin API are
// two views of one SimulatorState; nothing here knows about either protocol.
import type { SdkStatus } from '../drivers/portworx/sdk-types.js';
import { SimulatorError } from './errors.js';
import { parseNodeStatus, type SimNodeStatusInput } from './node-status.js';
import { pickReplicaNodes } from './placement.js';
import { errorText } from '../lib/errors.js';

/** A node as callers describe it; everything but the id has a default. */
export interface SimNodeSpec {
  /** The storage node id (what volumes name their replicas by). */
  readonly id: string;
  /** Default: the id. Reported as given (the driver lower-cases it). */
  readonly hostname?: string;
  /** Default: empty. */
  readonly mgmtIp?: string;
  /** Default: the management IP. */
  readonly dataIp?: string;
  /** Default: Online. */
  readonly status?: SimNodeStatusInput;
  /** The Kubernetes node name; default: none (the SDK field stays empty). */
  readonly schedulerNodeName?: string;
  /** Scheduler topology labels, e.g. `topology.kubernetes.io/zone`. */
  readonly topology?: Readonly<Record<string, string>>;
  /** The node's own labels (StorageNode.node_labels). */
  readonly labels?: Readonly<Record<string, string>>;
}

export interface SimNode {
  readonly id: string;
  readonly hostname: string;
  readonly mgmtIp: string;
  readonly dataIp: string;
  readonly status: SdkStatus;
  readonly schedulerNodeName: string;
  readonly topology: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface SimVolume {
  readonly id: string;
  readonly name: string;
  readonly sizeBytes: number;
  readonly haLevel: number;
  readonly replicaNodeIds: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** The volume a clone or snapshot was made from. */
  readonly parentId?: string;
  /** Snapshots are read-only volumes (Volume.readonly). */
  readonly snapshot: boolean;
  /** When it was created, in ms since the epoch (Volume.ctime): what happened before or after it. */
  readonly createdAt: number;
}

export interface CreateVolumeInput {
  /** Default: the next free numeric id. */
  readonly id?: string;
  readonly name: string;
  readonly sizeBytes: number;
  /** Default: the number of explicit replica nodes, else 1. At most 3, as on Portworx. */
  readonly haLevel?: number;
  /** Explicit placement by node id or IP; default: the least-loaded online nodes. */
  readonly replicaNodes?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

const maxHaLevel = 3;
/** Ids are numeric strings like Portworx's; the first is easy to spot in logs. */
const firstVolumeId = 1001;

/** Faults of the storage cluster as a whole, as a test plays them. */
export interface SimClusterFaults {
  /** The cluster lost quorum: every node that was serving reports STATUS_NOT_IN_QUORUM. */
  readonly quorumLost: boolean;
  /** The SDK API answers nothing but UNAVAILABLE (stork cut off from the storage system). */
  readonly unreachable: boolean;
}

export class SimulatorState {
  private faults: SimClusterFaults = { quorumLost: false, unreachable: false };
  private nodeMap = new Map<string, SimNode>();
  private volumeMap = new Map<string, SimVolume>();
  private nextId = firstVolumeId;
  private groupSequence = 0;

  constructor(private initialNodes: readonly SimNodeSpec[]) {
    this.reset();
  }

  /** Back to the initial nodes (or `nodes`, which become the new initial set) and no volumes. */
  reset(nodes?: readonly SimNodeSpec[]): void {
    this.nodeMap = nodeMapOf(nodes ?? this.initialNodes);
    if (nodes) this.initialNodes = nodes;
    this.volumeMap = new Map();
    this.nextId = firstVolumeId;
    this.faults = { quorumLost: false, unreachable: false };
  }

  get cluster(): SimClusterFaults {
    return this.faults;
  }

  /** Sets cluster-wide faults (those not given stay as they are); returns the new state. */
  setCluster(faults: Partial<SimClusterFaults>): SimClusterFaults {
    this.faults = { ...this.faults, ...faults };
    return this.faults;
  }

  /** The status the SDK reports for a node now: its own, unless the cluster lost quorum. */
  reportedStatus(node: SimNode): SdkStatus {
    return this.faults.quorumLost && node.status === 'STATUS_OK' ? 'STATUS_NOT_IN_QUORUM' : node.status;
  }

  nodes(): SimNode[] {
    return [...this.nodeMap.values()];
  }

  node(id: string): SimNode {
    const node = this.nodeMap.get(id);
    if (!node) throw new SimulatorError('NotFound', `Id ${id} not found`);
    return node;
  }

  /** Adds a node, or replaces the one with the same id; true if it is new. */
  putNode(spec: SimNodeSpec): boolean {
    const node = toNode(spec);
    const created = !this.nodeMap.has(node.id);
    this.nodeMap.set(node.id, node);
    return created;
  }

  /** Replaces every node; refused while a volume keeps a replica on a node that would go away. */
  replaceNodes(specs: readonly SimNodeSpec[]): void {
    const ids = new Set(specs.map((s) => s.id));
    for (const volume of this.volumeMap.values()) {
      const orphan = volume.replicaNodeIds.find((id) => !ids.has(id));
      if (orphan) {
        throw new SimulatorError(
          'FailedPrecondition',
          `node "${orphan}" still holds a replica of volume ${volume.id}; delete the volume first`,
        );
      }
    }
    this.nodeMap = nodeMapOf(specs);
  }

  setNodeStatus(id: string, status: SimNodeStatusInput): SimNode {
    const node = { ...this.node(id), status: statusOf(status, id) };
    this.nodeMap.set(id, node);
    return node;
  }

  volumes(): SimVolume[] {
    return [...this.volumeMap.values()];
  }

  volume(id: string): SimVolume | undefined {
    return this.volumeMap.get(id);
  }

  /** The volume or throws NotFound, with the SDK server's wording. */
  requireVolume(id: string): SimVolume {
    const volume = this.volumeMap.get(id);
    if (!volume) throw new SimulatorError('NotFound', `Volume id ${id} not found`);
    return volume;
  }

  /**
   * Creates a volume. As on an SDK server, the name is the idempotency key: creating an existing name
   * again with the same size returns the existing volume; with another size it is AlreadyExists.
   */
  createVolume(input: CreateVolumeInput): SimVolume {
    if (!input.name) throw new SimulatorError('InvalidArgument', 'Must supply a unique name');
    if (!Number.isSafeInteger(input.sizeBytes) || input.sizeBytes <= 0) {
      throw new SimulatorError(
        'InvalidArgument',
        `invalid size ${input.sizeBytes}: expected a positive byte count`,
      );
    }
    const existing = this.byName(input.name);
    if (existing) {
      if (existing.sizeBytes !== input.sizeBytes || existing.parentId !== undefined) {
        throw new SimulatorError(
          'AlreadyExists',
          `volume "${input.name}" exists as ${existing.id} with size ${existing.sizeBytes}, not ${input.sizeBytes}`,
        );
      }
      if (input.id !== undefined && input.id !== existing.id) {
        throw new SimulatorError('AlreadyExists', `volume "${input.name}" exists with id ${existing.id}`);
      }
      return existing;
    }
    const replicaNodeIds = this.placement(input);
    return this.insert({
      id: this.newId(input.id),
      name: input.name,
      sizeBytes: input.sizeBytes,
      haLevel: replicaNodeIds.length,
      replicaNodeIds,
      labels: { ...input.labels },
      snapshot: false,
    });
  }

  /** A writable copy of a volume or snapshot, on the parent's nodes. */
  cloneVolume(name: string, parentId: string): SimVolume {
    return this.derive(name, parentId, {}, false);
  }

  /** A read-only point-in-time copy, on the parent's nodes. */
  snapshotVolume(volumeId: string, name: string, labels: Readonly<Record<string, string>> = {}): SimVolume {
    return this.derive(name, volumeId, labels, true);
  }

  /**
   * Snapshots of several volumes at one point in time, as Portworx's group snapshot (its REST API) makes
   * them: all or nothing (every volume must exist and none be a snapshot), each labelled with `labels` and
   * named by the storage system, `<volume name>.group-snap-<n>` with `n` shared by the group.
   */
  snapshotGroup(volumeIds: readonly string[], labels: Readonly<Record<string, string>> = {}): SimVolume[] {
    if (volumeIds.length === 0) throw new SimulatorError('InvalidArgument', 'Must supply volume ids');
    const parents = volumeIds.map((id) => this.requireVolume(id));
    const snapshotted = parents.find((p) => p.snapshot);
    if (snapshotted) {
      throw new SimulatorError('InvalidArgument', `volume ${snapshotted.id} is a snapshot`);
    }
    const group = ++this.groupSequence;
    return parents.map((parent) =>
      this.derive(`${parent.name}.group-snap-${group}`, parent.id, labels, true),
    );
  }

  /** True if it existed. */
  deleteVolume(id: string): boolean {
    return this.volumeMap.delete(id);
  }

  /** Replicas per node, over volumes and snapshots. */
  load(): Map<string, number> {
    const load = new Map<string, number>();
    for (const volume of this.volumeMap.values()) {
      for (const id of volume.replicaNodeIds) load.set(id, (load.get(id) ?? 0) + 1);
    }
    return load;
  }

  private derive(
    name: string,
    parentId: string,
    labels: Readonly<Record<string, string>>,
    snapshot: boolean,
  ): SimVolume {
    if (!name) throw new SimulatorError('InvalidArgument', 'Must supply a name');
    if (!parentId) throw new SimulatorError('InvalidArgument', 'Must supply the parent volume id');
    const parent = this.requireVolume(parentId);
    const existing = this.byName(name);
    if (existing) {
      if (existing.parentId !== parentId || existing.snapshot !== snapshot) {
        throw new SimulatorError(
          'AlreadyExists',
          `volume "${name}" exists as ${existing.id} with another parent`,
        );
      }
      return existing;
    }
    return this.insert({
      id: this.newId(undefined),
      name,
      sizeBytes: parent.sizeBytes,
      haLevel: parent.haLevel,
      replicaNodeIds: [...parent.replicaNodeIds],
      labels: snapshot ? { ...labels } : { ...parent.labels },
      parentId,
      snapshot,
    });
  }

  private insert(volume: Omit<SimVolume, 'createdAt'>): SimVolume {
    const created = { ...volume, createdAt: Date.now() };
    this.volumeMap.set(volume.id, created);
    return created;
  }

  private byName(name: string): SimVolume | undefined {
    for (const volume of this.volumeMap.values()) if (volume.name === name) return volume;
    return undefined;
  }

  private newId(requested: string | undefined): string {
    if (requested !== undefined) {
      if (!requested || /\s/.test(requested))
        throw new SimulatorError('InvalidArgument', `invalid volume id "${requested}"`);
      if (this.volumeMap.has(requested))
        throw new SimulatorError('AlreadyExists', `volume id ${requested} is taken`);
      return requested;
    }
    while (this.volumeMap.has(String(this.nextId))) this.nextId++;
    return String(this.nextId++);
  }

  /** Explicit nodes (ids or IPs, as the SDK accepts) as given, else the least-loaded online nodes. */
  private placement(input: CreateVolumeInput): string[] {
    const explicit = input.replicaNodes ?? [];
    const haLevel = input.haLevel || explicit.length || 1;
    if (!Number.isInteger(haLevel) || haLevel < 1 || haLevel > maxHaLevel) {
      throw new SimulatorError('InvalidArgument', `invalid ha_level ${haLevel}: expected 1 to ${maxHaLevel}`);
    }
    if (explicit.length === 0) return pickReplicaNodes(this.nodes(), this.load(), haLevel);
    if (explicit.length !== haLevel) {
      throw new SimulatorError(
        'InvalidArgument',
        `ha_level ${haLevel} does not match the ${explicit.length} replica nodes given (${explicit.join(', ')})`,
      );
    }
    const ids = explicit.map((ref) => this.resolveNode(ref));
    const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
    if (duplicate) throw new SimulatorError('InvalidArgument', `replica node "${duplicate}" is given twice`);
    return ids;
  }

  private resolveNode(ref: string): string {
    if (this.nodeMap.has(ref)) return ref;
    for (const node of this.nodeMap.values()) if (node.mgmtIp === ref || node.dataIp === ref) return node.id;
    throw new SimulatorError('InvalidArgument', `unknown replica node "${ref}": not a node id or IP`);
  }
}

function nodeMapOf(specs: readonly SimNodeSpec[]): Map<string, SimNode> {
  const map = new Map<string, SimNode>();
  for (const spec of specs) {
    const node = toNode(spec);
    if (map.has(node.id)) throw new SimulatorError('InvalidArgument', `duplicate node id "${node.id}"`);
    map.set(node.id, node);
  }
  return map;
}

function toNode(spec: SimNodeSpec): SimNode {
  if (!spec.id || /\s/.test(spec.id))
    throw new SimulatorError('InvalidArgument', `invalid node id "${spec.id}"`);
  const mgmtIp = spec.mgmtIp ?? '';
  const status = statusOf(spec.status ?? 'Online', spec.id);
  return {
    id: spec.id,
    hostname: spec.hostname ?? spec.id,
    mgmtIp,
    dataIp: spec.dataIp ?? mgmtIp,
    status,
    schedulerNodeName: spec.schedulerNodeName ?? '',
    topology: { ...spec.topology },
    labels: { ...spec.labels },
  };
}

function statusOf(input: string, nodeId: string): SdkStatus {
  try {
    return parseNodeStatus(input);
  } catch (error) {
    throw new SimulatorError('InvalidArgument', `node ${nodeId}: ${errorText(error)}`);
  }
}
