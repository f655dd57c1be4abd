import type { Node, Pod } from '../wire/k8s-types.js';
import { csiFilterReason, csiRequest, csiScoreParts, type CsiScorePart } from '../drivers/csi/placement.js';
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
  const request = csiRequest(volumes, view);
  const passed: string[] = [];
  const failed: Record<string, string> = { ...decided.failed };
  // The first decision's passed nodes are candidates in candidate order (the filter keeps the order), so
  // one walk along both finds them: no set of thousands of names per request.
  let next = 0;
  for (const node of candidates) {
    const name = node.metadata?.name ?? '';
    if (decided.passed[next] !== name) continue;
    next++;
    const reason = csiFilterReason(node, volumes, view, request);
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
  // Plain loops over arrays: this runs over every candidate node per request, and the per-node objects,
  // spreads and maps it made were most of a CSI prioritize's cost.
  const count = candidates.length;
  const request = csiRequest(volumes, view);
  const partsOf = new Array<CsiScorePart[]>(count);
  const registeredOn = new Uint8Array(count);
  let scoredAny = false;
  for (let i = 0; i < count; i++) {
    const node = candidates[i] as Node;
    const csiNode = view.csiNode(node.metadata?.name ?? '');
    const parts = csiScoreParts(node, volumes, view, state.rackLabel, request, csiNode);
    partsOf[i] = parts;
    if (parts.length > 0) scoredAny = true;
    if (volumes.drivers.every((d) => registration(csiNode, d) !== undefined)) registeredOn[i] = 1;
  }
  if (!scoredAny) {
    if (decided.neutralReason === undefined) return decided;
    return {
      ...decided,
      neutralReason: `${decided.neutralReason}; the pod's CSI volumes are reachable from every node that passed the filter`,
    };
  }
  // The replica scores come in candidate order; a map only if some other order ever arrives.
  let byNode: Map<string, NodeScore> | undefined;
  const earlier = (i: number, name: string): NodeScore | undefined => {
    const same = decided.scores[i];
    if (same?.node === name) return same;
    byNode ??= new Map(decided.scores.map((s) => [s.node, s]));
    return byNode.get(name);
  };
  const befores = new Array<NodeScore | undefined>(count);
  const raws = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const name = candidates[i]?.metadata?.name ?? '';
    const before = earlier(i, name);
    befores[i] = before;
    let raw = before?.raw ?? 0;
    for (const part of partsOf[i] ?? []) raw += part.points;
    raws[i] = raw;
  }
  const wire = wireScores(raws);
  const scores = new Array<NodeScore>(count);
  for (let i = 0; i < count; i++) {
    const name = candidates[i]?.metadata?.name ?? '';
    const before = befores[i];
    const parts = partsOf[i] ?? [];
    const registered = registeredOn[i] === 1;
    const beforeParts = before?.parts ?? [];
    scores[i] = {
      node: name,
      raw: raws[i] ?? 0,
      score: wire[i] ?? 0,
      parts: parts.length === 0 ? beforeParts : beforeParts.length === 0 ? parts : [...beforeParts, ...parts],
      storageNode: (before?.storageNode ?? false) || registered,
    };
  }
  const { neutralReason: _ignored, ...rest } = decided;
  return { ...rest, scores };
}
