/**
 * The documents stork publishes about its placement of pods, read by `storkctl explain` and `storkctl get
 * hyperconvergence`. They live below both the daemon and the command line so that the writer and the
 * reader share one definition of the wire shape.
 */

/** The Pod annotation where stork records its last scheduling decision for that pod (compact JSON). */
export const schedulingDecisionAnnotation = 'stork.libopenstorage.org/scheduling-decision';

/** How one candidate node fared in a decision. */
export interface NodeVerdict {
  readonly node: string;
  /** Whether the extender's filter kept the node; absent when only prioritize was asked. */
  readonly passed?: boolean;
  /** Why the filter removed the node. */
  readonly reason?: string;
  /** The score sent to kube-scheduler (0..10); absent for nodes that were not scored. */
  readonly score?: number;
  /** Stork's raw score: the sum of the parts, or 5 for a storage node near none of the replicas. */
  readonly raw?: number;
  /** Points from volumes with a replica on this node, and from replicas in its rack, zone and region. */
  readonly replica?: number;
  readonly rack?: number;
  readonly zone?: number;
  readonly region?: number;
  /** Points from the CSI capacity left on this node for the pod's WaitForFirstConsumer claims. */
  readonly capacity?: number;
}

/** One scheduling decision for a pod: what the extender answered (recorded) or would answer now. */
export interface SchedulingDecision {
  /** When the decision was made (RFC 3339); for a recorded one, when this verdict was first recorded. */
  readonly time: string;
  /** The stork replica that made it. */
  readonly replica: string;
  /** `recorded`: the extender's answer to kube-scheduler; `now`: computed on request from current state. */
  readonly source: 'recorded' | 'now';
  /** Why the filter rejected every node (the pod is retried), when it did. */
  readonly error?: string;
  /** Why prioritize expressed no preference, when it did not. */
  readonly neutralReason?: string;
  /** The node stork scored highest (kube-scheduler adds its own scores, so ties may go either way). */
  readonly topNode?: string;
  /** Nodes left out of this record to keep the annotation small. */
  readonly omittedNodes?: number;
  readonly nodes: readonly NodeVerdict[];
}

export type PlacementClass = 'hyperconverged' | 'semi-hyperconverged' | 'non-hyperconverged';

export interface PlacedVolume {
  /** The claim the pod mounts the volume through. */
  readonly claim: string;
  /** The storage system's volume id. */
  readonly volume: string;
  /** Kubernetes node names holding replicas (the storage node id when no Kubernetes node matches). */
  readonly replicaNodes: readonly string[];
}

export interface PodPlacementReport {
  readonly namespace: string;
  readonly pod: string;
  readonly node: string;
  readonly placement: PlacementClass;
  readonly volumes: readonly PlacedVolume[];
}

/** Every running pod with driver volumes and how well it is placed (`GET /hyperconvergence`). */
export interface HyperconvergenceReport {
  readonly time: string;
  readonly replica: string;
  readonly summary: {
    readonly total: number;
    readonly hyperconverged: number;
    readonly semiHyperconverged: number;
    readonly nonHyperconverged: number;
  };
  readonly pods: readonly PodPlacementReport[];
}

/** The counts per class (the report's summary, also recounted by storkctl for one namespace). */
export function hyperconvergenceSummary(
  pods: readonly PodPlacementReport[],
): HyperconvergenceReport['summary'] {
  const count = (placement: PlacementClass) => pods.filter((p) => p.placement === placement).length;
  return {
    total: pods.length,
    hyperconverged: count('hyperconverged'),
    semiHyperconverged: count('semi-hyperconverged'),
    nonHyperconverged: count('non-hyperconverged'),
  };
}
