import type { DriverNode, DriverVolume } from '../drivers/driver.js';
import type { Node, Pod } from '../wire/k8s-types.js';
import type { ClusterState } from './cluster-state.js';
import { podContext, type DecisionOptions } from './decision-context.js';
import { skipScoringLabel } from './pod-volumes.js';
import { defaultPoints, pointsFor, replicaPlacement, tierOf, type Tier } from './score.js';
import { wireScores } from './wire-score.js';
import { factsOf, type CandidateFacts } from './indexes.js';
import { withCsiScores } from './csi-decisions.js';
import type { CsiTier } from '../drivers/csi/placement.js';

const noParts: NodeScore['parts'] = [];

export const disableHyperconvergenceAnnotation = 'stork.libopenstorage.org/disableHyperconvergence';

/** One node's score, with the parts it is made of (what `storkctl explain` shows). */
export interface NodeScore {
  readonly node: string;
  /** Stork's raw score: the sum of per-volume points, 5 for a storage node near nothing, 0 without storage. */
  readonly raw: number;
  /** The score sent to kube-scheduler, 0..10, ranked as `raw`. */
  readonly score: number;
  readonly parts: readonly {
    readonly volume: string;
    readonly tier: Tier | CsiTier;
    readonly points: number;
  }[];
  readonly storageNode: boolean;
}

export interface PrioritizeDecision {
  readonly scores: readonly NodeScore[];
  /** Why no preference was expressed, when none was. */
  readonly neutralReason?: string;
  /** Volumes none of the candidate nodes holds a replica of: the pod cannot be hyper-converged. */
  readonly notHyperconverged: readonly string[];
  /** The Kubernetes nodes holding those volumes' replicas, sorted (where room would have to be made). */
  readonly replicaNodes?: readonly string[];
  readonly requestVolumes: readonly string[];
}

function neutral(
  nodes: readonly Node[],
  reason: string,
  requestVolumes: readonly string[] = [],
): PrioritizeDecision {
  return {
    scores: nodes.map((n) => ({
      node: n.metadata?.name ?? '',
      raw: 0,
      score: 0,
      parts: [],
      storageNode: false,
    })),
    neutralReason: reason,
    notHyperconverged: [],
    requestVolumes,
  };
}

/**
 * Ranks the candidate nodes by closeness to the pod's volumes, as Stork does: per volume, a node holding a
 * replica gets 100, one in a replica's rack 50, zone 25, region 10; a StorageDown node gets 25 for a
 * replica and half for locality. Points add up over volumes; a storage node near nothing gets 5 and a node
 * without storage 0. The raw scores are then mapped onto kube-scheduler's 0..10 keeping their order.
 */
export function prioritizeNodes(
  pod: Pod,
  candidates: readonly Node[],
  state: ClusterState,
  options: DecisionOptions,
  known?: CandidateFacts,
): PrioritizeDecision {
  if (pod.metadata?.annotations?.[disableHyperconvergenceAnnotation] === 'true') {
    return neutral(candidates, 'hyper-convergence is disabled for this pod');
  }
  return withCsiScores(
    pod,
    candidates,
    state,
    prioritizeReplicaNodes(pod, candidates, state, options, known),
  );
}

function prioritizeReplicaNodes(
  pod: Pod,
  candidates: readonly Node[],
  state: ClusterState,
  options: DecisionOptions,
  known: CandidateFacts | undefined,
): PrioritizeDecision {
  const context = podContext(pod, state, options);
  if (context.kind === 'no-driver-volumes')
    return neutral(candidates, `the pod uses no ${state.driver.name} volumes`);
  if (context.kind === 'error') return neutral(candidates, context.message, context.requestVolumes);
  const scored: DriverVolume[] = context.volumes.volumes.filter((v) => v.labels[skipScoringLabel] !== 'true');
  if (scored.length === 0) return neutral(candidates, 'none of the pod’s volumes is placed yet or scored');
  const { indexes } = context;
  const placements = scored.map((v) =>
    replicaPlacement(v, state.snapshot.nodesById, (node) => indexes.replicaLocality(node, state)),
  );
  const hyperconverged = new Set<string>();
  // Storage nodes by object (an identity lookup per candidate, not a hash of an id string).
  const replicaHolders = new Set<DriverNode>();
  for (const placement of placements)
    for (const id of placement.nodeIds) {
      const holder = state.snapshot.nodesById.get(id);
      if (holder) replicaHolders.add(holder);
    }
  // Nodes that hold no replica score by their locality alone, so nodes in the same rack share one
  // computation: with thousands of nodes this is most of the work saved. Indexed by score class.
  const byLocality: ({ raw: number; parts: NodeScore['parts'] } | undefined)[] = [];
  // First pass: primitives and shared part lists only; one object per node is made at the end. Plain
  // loops: at thousands of nodes per request, closures and intermediate lists are most of the garbage.
  const count = candidates.length;
  const factsAt = factsOf(indexes, candidates, known);
  const raws = new Array<number>(count).fill(0);
  const partsOf = new Array<NodeScore['parts']>(count);
  const storage = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const { driverNode, locality, scoreClass } = factsAt(i);
    if (!driverNode) {
      partsOf[i] = noParts;
      continue;
    }
    storage[i] = 1;
    const shared = !replicaHolders.has(driverNode);
    let scored = shared ? byLocality[scoreClass] : undefined;
    if (!scored) {
      const parts = placements.map((placement) => {
        const tier = tierOf(driverNode, locality, placement);
        if (tier === 'replica') hyperconverged.add(placement.volume.id);
        return {
          volume: placement.volume.name || placement.volume.id,
          tier,
          points: pointsFor(tier, driverNode),
        };
      });
      const sum = parts.reduce((total, p) => total + p.points, 0);
      scored = { raw: sum === 0 ? defaultPoints : sum, parts };
      if (shared) byLocality[scoreClass] = scored;
    }
    raws[i] = scored.raw;
    partsOf[i] = scored.parts;
  }
  const wire = wireScores(raws);
  const missed = scored.filter((v) => !hyperconverged.has(v.id));
  const replicaNodes = new Set<string>();
  for (const volume of missed) {
    for (const id of volume.replicaNodeIds) {
      const driverNode = state.snapshot.nodesById.get(id);
      replicaNodes.add(driverNode ? indexes.kubeNodeName(driverNode, state) : id);
    }
  }
  const scores = new Array<NodeScore>(count);
  for (let i = 0; i < count; i++) {
    scores[i] = {
      node: candidates[i]?.metadata?.name ?? '',
      raw: raws[i] ?? 0,
      score: wire[i] ?? 0,
      parts: partsOf[i] ?? noParts,
      storageNode: storage[i] === 1,
    };
  }
  return {
    scores,
    notHyperconverged: missed.map((v) => v.name || v.id),
    ...(replicaNodes.size > 0 ? { replicaNodes: [...replicaNodes].sort() } : {}),
    requestVolumes: [],
  };
}
