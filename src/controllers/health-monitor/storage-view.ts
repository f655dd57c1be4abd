import type { DriverState } from '../../drivers/driver-state.js';
import type { Node } from '../../wire/k8s-types.js';
import { matchNodes, type NodeMatcher } from '../../drivers/node-match.js';
import type { BreakerInput } from './breaker.js';
import type { NodeObservation } from './node-health.js';
import { countsAsUnhealthy } from './status-policy.js';

/** The storage system as the monitor sees it at one moment: per node, and as the breaker judges it. */
export interface StorageView {
  /** Each Kubernetes node running a storage node, with that node's status; empty if untrustworthy. */
  readonly observations: readonly NodeObservation[];
  readonly breaker: BreakerInput;
}

export interface StorageViewOptions {
  /** Wall-clock now (ms since the epoch): the snapshot's `refreshedAt` is wall-clock time. */
  readonly wallNow: number;
  /** A view whose last successful refresh is older than this cannot be trusted. */
  readonly staleAfterMs: number;
}

/** Why a snapshot cannot be trusted now, or undefined if it can. */
export function untrustworthy(snapshot: DriverState, options: StorageViewOptions): string | undefined {
  if (snapshot.refreshedAt === undefined)
    return `no answer from the storage system yet${snapshot.lastError ? ` (${snapshot.lastError})` : ''}`;
  const age = options.wallNow - snapshot.refreshedAt;
  if (age > options.staleAfterMs) {
    return (
      `no successful refresh for ${Math.round(age / 1000)}s` +
      (snapshot.lastError ? ` (last error: ${snapshot.lastError})` : '')
    );
  }
  if (snapshot.servedBy !== undefined) {
    const server = snapshot.nodesById.get(snapshot.servedBy);
    if (server && countsAsUnhealthy(server.status))
      return `it was served by storage node ${server.id}, which itself reports ${server.status}`;
  }
  return undefined;
}

/** The storage view before it is judged trustworthy: what matching and counting found. */
export interface NodeCounts {
  readonly observations: readonly NodeObservation[];
  readonly storageNodes: number;
  readonly unhealthyNodes: number;
  readonly quorumLost: boolean;
}

/**
 * Matches every Kubernetes node to its storage node and counts the unhealthy ones. Counts are over
 * Kubernetes nodes with a storage node (what the monitor could act on), each judged by its healthiest
 * matching storage entry, so stale duplicate entries do not inflate the count.
 */
export function countNodes(snapshot: DriverState, nodes: readonly Node[], matcher: NodeMatcher): NodeCounts {
  const observations: NodeObservation[] = matchNodes(nodes, (node) => matcher.match(node)).flatMap(
    ({ node, driverNode }) => {
      const name = node.metadata?.name;
      return name ? [{ node: name, driverNodeId: driverNode.id, status: driverNode.status }] : [];
    },
  );
  return {
    observations,
    storageNodes: observations.length,
    unhealthyNodes: observations.filter((o) => countsAsUnhealthy(o.status)).length,
    quorumLost: snapshot.nodes.some((n) => n.status === 'NotInQuorum'),
  };
}

/** Judges counted nodes: an untrustworthy view keeps its counts for the record but observes no node. */
export function storageView(counts: NodeCounts, distrust: string | undefined): StorageView {
  return {
    observations: distrust === undefined ? counts.observations : [],
    breaker: {
      storageNodes: counts.storageNodes,
      unhealthyNodes: counts.unhealthyNodes,
      quorumLost: counts.quorumLost,
      untrustworthy: distrust,
    },
  };
}
