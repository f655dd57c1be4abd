import type { Node, Pod } from '../wire/k8s-types.js';
import type { ClusterState } from './cluster-state.js';
import { podContext, type DecisionOptions } from './decision-context.js';
import { skipScoringLabel } from './pod-volumes.js';
import { factsOf, operatorUnschedulableAnnotation, servesData, type CandidateFacts } from './indexes.js';
import { withCsiFilter } from './csi-decisions.js';

export const preferLocalNodeOnlyAnnotation = 'stork.libopenstorage.org/preferLocalNodeOnly';
export { operatorUnschedulableAnnotation };

export interface FilterDecision {
  /** Names of the nodes that pass, in the order given. */
  readonly passed: readonly string[];
  /** A reason for every node that does not; none of them can be fixed by preemption. */
  readonly failed: Readonly<Record<string, string>>;
  /** Set when the pod cannot be decided now (the scheduler retries); then nothing passes. */
  readonly error?: string;
  /** Volume ids the caller should have the driver cache fetch. */
  readonly requestVolumes: readonly string[];
}

/**
 * Which of the candidate nodes may run the pod: nodes whose storage driver is up (Online, or StorageDown
 * whose volumes stay reachable), and with `preferLocalNodeOnly`, only nodes holding a replica of every
 * volume. Pods without driver volumes pass everywhere.
 */
export function filterNodes(
  pod: Pod,
  candidates: readonly Node[],
  state: ClusterState,
  options: DecisionOptions,
  known?: CandidateFacts,
): FilterDecision {
  return withCsiFilter(pod, candidates, state, filterReplicaNodes(pod, candidates, state, options, known));
}

function filterReplicaNodes(
  pod: Pod,
  candidates: readonly Node[],
  state: ClusterState,
  options: DecisionOptions,
  known: CandidateFacts | undefined,
): FilterDecision {
  const context = podContext(pod, state, options);
  if (context.kind === 'no-driver-volumes')
    return { passed: candidates.map((n) => n.metadata?.name ?? ''), failed: {}, requestVolumes: [] };
  if (context.kind === 'error') {
    return { passed: [], failed: {}, error: context.message, requestVolumes: context.requestVolumes };
  }
  const driver = state.driver.name;
  const localOnly = pod.metadata?.annotations?.[preferLocalNodeOnlyAnnotation] === 'true';
  const scored = context.volumes.volumes.filter((v) => v.labels[skipScoringLabel] !== 'true');
  const passed: string[] = [];
  const failed: Record<string, string> = {};
  const factsAt = factsOf(context.indexes, candidates, known);
  // A plain loop over facts computed when the caches changed: this runs for every candidate node.
  for (let i = 0; i < candidates.length; i++) {
    const node = candidates[i] as Node;
    const name = node.metadata?.name ?? '';
    const { driverNode, operatorUnschedulable } = factsAt(i);
    if (operatorUnschedulable) {
      failed[name] = `node is marked unschedulable by the ${driver} operator`;
      continue;
    }
    if (!driverNode) {
      failed[name] = `no ${driver} storage node runs on this node`;
      continue;
    }
    if (!servesData(driverNode)) {
      failed[name] = `${driver} storage on this node is ${driverNode.status}`;
      continue;
    }
    if (localOnly) {
      const missing = scored.filter((v) => !v.replicaNodeIds.includes(driverNode.id));
      if (missing.length > 0) {
        failed[name] =
          `holds no replica of volume(s) ${missing.map((v) => v.name || v.id).join(', ')} (preferLocalNodeOnly)`;
        continue;
      }
    }
    passed.push(name);
  }
  return { passed, failed, requestVolumes: [] };
}
