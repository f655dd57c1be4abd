import type { DriverNode } from '../drivers/driver.js';
import type { Node } from '../wire/k8s-types.js';
import type { ClusterState } from './cluster-state.js';
import { localityOf, type Locality } from '../drivers/locality.js';
import { kubeNodesByStorageId, matchNodes, nodeMatcherFor, type NodeMatcher } from '../drivers/node-match.js';

/** What a decision needs to know about one Kubernetes node. */
export interface NodeFacts {
  /** The storage node running there, if any. */
  readonly driverNode: DriverNode | undefined;
  readonly locality: Locality;
  /**
   * Locality and status as a small integer, the same for nodes with the same rack, zone, region and
   * storage status: such nodes score alike unless they hold a replica. A number rather than the string
   * itself, so that a request over thousands of nodes looks it up in an array, not by a string's hash.
   */
  readonly scoreClass: number;
  /** The storage operator marked the node unschedulable (annotation `operator.libopenstorage.org/unschedulable`). */
  readonly operatorUnschedulable: boolean;
}

/** A cached node and its facts (see {@link SchedulingIndexes.entry}). */
export interface NodeEntry {
  readonly node: Node;
  readonly facts: NodeFacts;
}

/** Facts the caller already looked up for the candidates, in their order, and the indexes they came from. */
export interface CandidateFacts {
  readonly indexes: SchedulingIndexes;
  readonly facts: readonly NodeFacts[];
}

/** The candidates' facts: those given, if they came from these indexes, else looked up per node. */
export function factsOf(
  indexes: SchedulingIndexes,
  candidates: readonly Node[],
  known: CandidateFacts | undefined,
): (i: number) => NodeFacts {
  if (known?.indexes === indexes && known.facts.length === candidates.length) {
    const { facts } = known;
    return (i) => facts[i] as NodeFacts;
  }
  return (i) => indexes.nodeFacts(candidates[i] as Node);
}

export const operatorUnschedulableAnnotation = 'operator.libopenstorage.org/unschedulable';

function scoreKeyOf(driverNode: DriverNode | undefined, locality: Locality): string {
  return `${locality.rack}\u0000${locality.zone}\u0000${locality.region}\u0000${driverNode?.status ?? ''}`;
}

/**
 * Lookups derived from the caches, kept across requests. They are built for one storage state (the
 * driver snapshot's content) and filled in per node on first use; a node whose object changed (a new
 * informer object after an update) is recomputed alone, so a status heartbeat from one node never
 * costs a pass over all of them.
 */
export class SchedulingIndexes {
  readonly matcher: NodeMatcher;
  /**
   * By node object: informer objects are replaced on every update, never mutated, so an object's facts
   * never change, and those of a replaced object go with it. An identity lookup, not a name's hash: this
   * runs for every candidate node of every request.
   */
  private readonly facts = new WeakMap<Node, NodeFacts>();
  /** Score classes by their key, numbered from 0 in the order first seen (see {@link NodeFacts.scoreClass}). */
  private readonly scoreClasses = new Map<string, number>();
  private readonly replicaLocalities = new Map<string, { node: Node | undefined; locality: Locality }>();
  private kubeNodeOf: { version: number; map: Map<string, Node> } | undefined;
  private byName: { version: number; map: Map<string, NodeEntry> } | undefined;
  /** Facts computed so far (not memo hits): how a test tells the request path from the warm-up. */
  factsComputed = 0;

  constructor(
    readonly driverNodes: readonly DriverNode[],
    readonly rackLabel: string,
  ) {
    this.matcher = nodeMatcherFor(driverNodes);
  }

  /** Facts about a candidate node (memoised by object: informer objects are replaced, never mutated). */
  nodeFacts(node: Node): NodeFacts {
    const known = this.facts.get(node);
    if (known) return known;
    const driverNode = this.matcher.match(node);
    this.factsComputed++;
    const locality = localityOf(node, driverNode, this.rackLabel);
    const key = scoreKeyOf(driverNode, locality);
    let scoreClass = this.scoreClasses.get(key);
    if (scoreClass === undefined) {
      scoreClass = this.scoreClasses.size;
      this.scoreClasses.set(key, scoreClass);
    }
    const operatorUnschedulable = node.metadata?.annotations?.[operatorUnschedulableAnnotation] === 'true';
    const facts: NodeFacts = { driverNode, locality, scoreClass, operatorUnschedulable };
    this.facts.set(node, facts);
    return facts;
  }

  /**
   * The cached node of this name with its facts: one lookup per name a request offers, where a name
   * lookup and then a facts lookup cost two (each a hash probe into thousands of entries). The map is
   * made once per change of the node list (its version), from the same cache `getNode` reads.
   */
  entry(name: string, state: ClusterState): NodeEntry | undefined {
    return this.entries(state).get(name);
  }

  /** Makes the by-name map of {@link entry} for the current node list (the index warmer, off the request path). */
  entries(state: ClusterState): ReadonlyMap<string, NodeEntry> {
    let known = this.byName;
    if (known?.version !== state.nodesVersion) {
      const map = new Map<string, NodeEntry>();
      for (const node of state.listNodes())
        map.set(node.metadata?.name ?? '', { node, facts: this.nodeFacts(node) });
      known = this.byName = { version: state.nodesVersion, map };
    }
    return known.map;
  }

  /** Where a storage node sits: its Kubernetes node's labels if it runs on one, else what it reports. */
  replicaLocality(driverNode: DriverNode, state: ClusterState): Locality {
    const node = this.kubeNodeFor(driverNode, state);
    const known = this.replicaLocalities.get(driverNode.id);
    if (known && known.node === node) return known.locality;
    const locality = localityOf(node, driverNode, this.rackLabel);
    this.replicaLocalities.set(driverNode.id, { node, locality });
    return locality;
  }

  /** The Kubernetes node a storage node runs on, by name; else the name the storage system reports. */
  kubeNodeName(driverNode: DriverNode, state: ClusterState): string {
    const node = this.kubeNodeFor(driverNode, state);
    return node?.metadata?.name ?? driverNode.schedulerNodeName ?? driverNode.hostname;
  }

  private kubeNodeFor(driverNode: DriverNode, state: ClusterState): Node | undefined {
    // Almost always the storage system knows the node by its Kubernetes name or hostname.
    for (const name of [driverNode.schedulerNodeName, driverNode.hostname]) {
      const node = name ? state.getNode(name) : undefined;
      if (node && this.nodeFacts(node).driverNode?.id === driverNode.id) return node;
    }
    // Otherwise match every node once per change of the node list.
    if (this.kubeNodeOf?.version !== state.nodesVersion) {
      const matches = matchNodes(state.listNodes(), (node) => this.nodeFacts(node).driverNode);
      this.kubeNodeOf = { version: state.nodesVersion, map: kubeNodesByStorageId(matches) };
    }
    return this.kubeNodeOf.map.get(driverNode.id);
  }
}

let memo: SchedulingIndexes | undefined;

/**
 * The indexes for the current storage state, rebuilt only when the storage node list changes (the driver
 * cache keeps the same array while the nodes stay the same).
 */
export function schedulingIndexes(state: ClusterState): SchedulingIndexes {
  if (memo?.driverNodes === state.snapshot.nodes && memo.rackLabel === state.rackLabel) return memo;
  memo = new SchedulingIndexes(state.snapshot.nodes, state.rackLabel);
  return memo;
}

/** A replica that can serve I/O: Online, or StorageDown (data reachable over the network). */
export function servesData(node: DriverNode | undefined): boolean {
  return node?.status === 'Online' || node?.status === 'StorageDown';
}
