import type { Node, Pod } from '../wire/k8s-types.js';
import { csiFilterReason, csiScoreParts } from '../drivers/csi/placement.js';
import { podCsiVolumes } from '../drivers/csi/pod-csi-volumes.js';
import { registration } from '../drivers/csi/csi-view.js';
import type { ClusterState } from './cluster-state.js';
import type { FilterDecision } from './filter.js';
import type { NodeScore, PrioritizeDecision } from './prioritize.js';
import { wireScores } from './wire-score.js';

/**
 * The `csi` driver's part of a filter decision, applied to what the replica-aware driver (pxd) decided:
 * nodes that passed are checked against the pod's CSI volumes (see csiFilterReason). A pod without
 * claims of a served CSI driver, or a stork without the csi driver, gets the first decision unchanged.
 */
export function withCsiFilter(
  pod: Pod,
  candidates: readonly Node[],
  state: ClusterState,
  decided: FilterDecision,
): FilterDecision {
  const view = state.csi;
  if (!view) return decided;
  const volumes = podCsiVolumes(pod, state, view);
  if (volumes.kind === 'none') return decided;
  if (volumes.kind === 'error') {
    const error = decided.error ? `${decided.error}; ${volumes.message}` : volumes.message;
    return { passed: [], failed: {}, error, requestVolumes: decided.requestVolumes };
  }
  if (decided.error) return decided;
  const stillIn = new Set(decided.passed);
  const passed: string[] = [];
  const failed: Record<string, string> = { ...decided.failed };
  for (const node of candidates) {
    const name = node.metadata?.name ?? '';
    if (!stillIn.has(name)) continue;
    const reason = csiFilterReason(node, volumes, view);
    if (reason) failed[name] = reason;
    else passed.push(name);
  }
  return { passed, failed, requestVolumes: decided.requestVolumes };
}

/**
 * Adds the pod's CSI volumes to a prioritize decision: each node's CSI points (see csiScoreParts) add
 * to its raw score, and the wire scores are ranked again over the sums. Pods without CSI claims keep the
 * first decision, byte for byte.
 */
export function withCsiScores(
  pod: Pod,
  candidates: readonly Node[],
  state: ClusterState,
  decided: PrioritizeDecision,
): PrioritizeDecision {
  const view = state.csi;
  if (!view) return decided;
  const volumes = podCsiVolumes(pod, state, view);
  if (volumes.kind !== 'ready') return decided;
  const byNode = new Map(decided.scores.map((s) => [s.node, s]));
  const partsOf = candidates.map((node) => csiScoreParts(node, volumes, view, state.rackLabel));
  if (partsOf.every((parts) => parts.length === 0)) {
    if (decided.neutralReason === undefined) return decided;
    return {
      ...decided,
      neutralReason: `${decided.neutralReason}; the pod's CSI volumes are reachable from every node that passed the filter`,
    };
  }
  const summed = candidates.map((node, i): NodeScore => {
    const name = node.metadata?.name ?? '';
    const before = byNode.get(name) ?? { node: name, raw: 0, score: 0, parts: [], storageNode: false };
    const parts = partsOf[i] ?? [];
    const csiNode = view.csiNode(name);
    const registered = volumes.drivers.every((d) => registration(csiNode, d) !== undefined);
    return {
      ...before,
      raw: before.raw + parts.reduce((total, p) => total + p.points, 0),
      parts: [...before.parts, ...parts],
      storageNode: before.storageNode || registered,
    };
  });
  const wire = wireScores(summed.map((s) => s.raw));
  const { neutralReason: _ignored, ...rest } = decided;
  return { ...rest, scores: summed.map((s, i) => ({ ...s, score: wire[i] ?? 0 })) };
}
