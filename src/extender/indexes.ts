import type { DriverNode } from '../drivers/driver.js';
import type { Node } from '../drivers/k8s-types.js';
import type { DriverSnapshot } from '../drivers/snapshot.js';
import type { ClusterState } from './cluster-state.js';
import { localityOf, type Locality } from './locality.js';
import { NodeMatcher } from './node-match.js';

/** What a decision needs to know about one Kubernetes node. */
export interface NodeFacts {
  /** The storage node running there, if any. */
  readonly driverNode: DriverNode | undefined;
  readonly locality: Locality;
  /** Locality and status in one string: nodes with equal keys score alike unless they hold a replica. */
  readonly scoreKey: string;
}

function facts(driverNode: DriverNode | undefined, locality: Locality): NodeFacts {
  const scoreKey = `${locality.rack}\u0000${locality.zone}\u0000${locality.region}\u0000${driverNode?.status ?? ''}`;
  return { driverNode, locality, scoreKey };
}

/** Lookups derived from the caches, rebuilt only when the driver snapshot or the node list changes. */
export interface SchedulingIndexes {
  /** Facts about each known Kubernetes node, by name, computed once per change rather than per request. */
  readonly facts: ReadonlyMap<string, NodeFacts>;
  readonly matcher: NodeMatcher;
  /** The locality of each storage node, by driver node id (from its Kubernetes node's labels if matched). */
  readonly driverLocality: ReadonlyMap<string, Locality>;
  /** The Kubernetes node each storage node runs on, by driver node id. */
  readonly kubeNodeOf: ReadonlyMap<string, Node>;
}

let memo:
  | { snapshot: DriverSnapshot; nodesVersion: number; rackLabel: string; indexes: SchedulingIndexes }
  | undefined;

/** The indexes for this state; O(nodes) when something changed, O(1) otherwise. */
export function schedulingIndexes(state: ClusterState): SchedulingIndexes {
  if (
    memo &&
    memo.snapshot === state.snapshot &&
    memo.nodesVersion === state.nodesVersion &&
    memo.rackLabel === state.rackLabel
  ) {
    return memo.indexes;
  }
  const matcher = new NodeMatcher(state.snapshot.nodes);
  const kubeNodeOf = new Map<string, Node>();
  const factsByName = new Map<string, NodeFacts>();
  for (const node of state.listNodes()) {
    const driverNode = matcher.match(node);
    if (driverNode && !kubeNodeOf.has(driverNode.id)) kubeNodeOf.set(driverNode.id, node);
    factsByName.set(
      node.metadata?.name ?? '',
      facts(driverNode, localityOf(node, driverNode, state.rackLabel)),
    );
  }
  const driverLocality = new Map<string, Locality>();
  for (const driverNode of state.snapshot.nodes) {
    driverLocality.set(driverNode.id, localityOf(kubeNodeOf.get(driverNode.id), driverNode, state.rackLabel));
  }
  const indexes = { facts: factsByName, matcher, driverLocality, kubeNodeOf };
  memo = { snapshot: state.snapshot, nodesVersion: state.nodesVersion, rackLabel: state.rackLabel, indexes };
  return indexes;
}

/** A replica that can serve I/O: Online, or StorageDown (data reachable over the network). */
export function servesData(node: DriverNode | undefined): boolean {
  return node?.status === 'Online' || node?.status === 'StorageDown';
}

/**
 * Facts about a candidate node: from the precomputed index when the node is known to the cache (the
 * common case, O(1)), else computed from the object the scheduler sent.
 */
export function nodeFacts(node: Node, indexes: SchedulingIndexes, rackLabel: string): NodeFacts {
  const known = indexes.facts.get(node.metadata?.name ?? '');
  if (known) return known;
  const driverNode = indexes.matcher.match(node);
  return facts(driverNode, localityOf(node, driverNode, rackLabel));
}
