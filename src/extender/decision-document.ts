import type { NodeVerdict, SchedulingDecision } from '../drivers/scheduling-documents.js';
import type { FilterDecision } from './filter.js';
import type { NodeScore, PrioritizeDecision } from './prioritize.js';
import type { Tier } from './score.js';

/**
 * Past this many nodes a record keeps the filtered-out and the best-scored ones: one record is written per
 * pod, so its size is paid per pod scheduled (about 100 bytes a node), and a longer table is not read.
 */
export const maxRecordedNodes = 50;

export interface DecisionParts {
  readonly filter?: FilterDecision;
  readonly prioritize?: PrioritizeDecision;
  readonly time: Date;
  readonly replica: string;
  readonly source: SchedulingDecision['source'];
}

/**
 * One decision as users read it: every candidate node with whether the filter kept it and why not, and its
 * score with the points per tier. Pure, so the recorded and the "what now" documents are built alike.
 */
export function decisionDocument(parts: DecisionParts, limit = maxRecordedNodes): SchedulingDecision {
  const { filter, prioritize } = parts;
  const verdicts = new Map<string, NodeVerdict>();
  if (filter) {
    for (const node of filter.passed) verdicts.set(node, { node, passed: true });
    for (const [node, reason] of Object.entries(filter.failed))
      verdicts.set(node, { node, passed: false, reason });
  }
  for (const s of prioritize?.scores ?? []) {
    verdicts.set(s.node, { ...verdicts.get(s.node), node: s.node, ...scoreParts(s) });
  }
  let nodes = [...verdicts.values()].sort(byOutcome);
  let omitted = 0;
  if (nodes.length > limit) {
    // Rejected nodes say why a pod is pending, so they go first; then the best-scored.
    omitted = nodes.length - limit;
    nodes = nodes.slice(0, limit);
  }
  const top = topNode(prioritize?.scores ?? []);
  return {
    time: parts.time.toISOString(),
    replica: parts.replica,
    source: parts.source,
    ...(filter?.error ? { error: filter.error } : {}),
    ...(prioritize?.neutralReason ? { neutralReason: prioritize.neutralReason } : {}),
    ...(top ? { topNode: top } : {}),
    ...(omitted > 0 ? { omittedNodes: omitted } : {}),
    nodes,
  };
}

function scoreParts(s: NodeScore): Omit<NodeVerdict, 'node'> {
  const points: Record<Exclude<Tier, 'none'>, number> = { replica: 0, rack: 0, zone: 0, region: 0 };
  let capacity = 0;
  for (const part of s.parts) {
    if (part.tier === 'capacity') capacity += part.points;
    else if (part.tier !== 'none') points[part.tier] += part.points;
  }
  return { score: s.score, raw: s.raw, ...points, ...(capacity > 0 ? { capacity } : {}) };
}

/** Filtered-out nodes first (by name), then by score, best first, then by name. */
function byOutcome(a: NodeVerdict, b: NodeVerdict): number {
  const failedA = a.passed === false ? 0 : 1;
  const failedB = b.passed === false ? 0 : 1;
  if (failedA !== failedB) return failedA - failedB;
  const byRaw = (b.raw ?? -1) - (a.raw ?? -1);
  if (byRaw !== 0) return byRaw;
  return a.node < b.node ? -1 : a.node > b.node ? 1 : 0;
}

/** The node with the highest score when there is a preference (the first of equals, as sent). */
function topNode(scores: readonly NodeScore[]): string | undefined {
  let best: NodeScore | undefined;
  for (const s of scores) if (!best || s.raw > best.raw) best = s;
  if (!best || best.raw === 0) return undefined;
  return best.node;
}
