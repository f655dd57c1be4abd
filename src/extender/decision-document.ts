import type { NodeVerdict, SchedulingDecision } from '../wire/scheduling-documents.js';
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
  const failed = filter?.failed ?? {};
  const scoreOf = new Map<string, NodeScore>();
  for (const s of prioritize?.scores ?? []) scoreOf.set(s.node, s);
  // Rejected nodes say why a pod is pending, so they go first; then the others. Each group by raw score,
  // best first (unscored last), then by name. Past the limit only the nodes kept are turned into
  // verdicts: this runs for every pod scheduled, over every candidate node.
  const rawOf = (node: string): number => scoreOf.get(node)?.raw ?? -1;
  const rejectedAll = Object.keys(failed).map((node) => ({ node, raw: rawOf(node) }));
  const seen = new Set(Object.keys(failed));
  const rest: { node: string; raw: number }[] = [];
  const add = (node: string): void => {
    if (seen.has(node)) return;
    seen.add(node);
    rest.push({ node, raw: rawOf(node) });
  };
  for (const node of filter?.passed ?? []) add(node);
  for (const node of scoreOf.keys()) add(node);
  const total = rejectedAll.length + rest.length;
  const kept = Math.min(total, limit);
  // Only the kept nodes are ordered: a full sort of thousands of candidates per pod was most of the cost.
  const rejected = best(rejectedAll, kept);
  const others = best(rest, kept - rejected.length);
  const passed = new Set(filter?.passed ?? []);
  const verdict = (node: string): NodeVerdict => {
    const reason = failed[node];
    const s = scoreOf.get(node);
    const outcome =
      reason !== undefined ? { passed: false, reason } : filter && passed.has(node) ? { passed: true } : {};
    return { node, ...outcome, ...(s ? scoreParts(s) : {}) };
  };
  const nodes: NodeVerdict[] = [];
  for (const r of rejected) nodes.push(verdict(r.node));
  for (const r of others) nodes.push(verdict(r.node));
  const omitted = total - kept;
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

type Ranked = { readonly node: string; readonly raw: number };

/**
 * The first `k` of `items` in {@link byOutcome} order, as a full sort would give them: one pass keeping a
 * sorted list of at most `k`, so most items cost one comparison with the worst kept.
 */
export function best(items: Ranked[], k: number): Ranked[] {
  if (k <= 0) return [];
  if (items.length <= k) return items.sort(byOutcome);
  const top: Ranked[] = [];
  for (const item of items) {
    const worst = top[top.length - 1];
    if (top.length === k && worst && byOutcome(item, worst) >= 0) continue;
    let lo = 0;
    let hi = top.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byOutcome(top[mid] as Ranked, item) <= 0) lo = mid + 1;
      else hi = mid;
    }
    top.splice(lo, 0, item);
    if (top.length > k) top.pop();
  }
  return top;
}

/** Best raw score first, then by name. */
function byOutcome(a: Ranked, b: Ranked): number {
  return b.raw - a.raw || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
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

/** The node with the highest score when there is a preference (the first of equals, as sent). */
function topNode(scores: readonly NodeScore[]): string | undefined {
  let best: NodeScore | undefined;
  for (const s of scores) if (!best || s.raw > best.raw) best = s;
  if (!best || best.raw === 0) return undefined;
  return best.node;
}
