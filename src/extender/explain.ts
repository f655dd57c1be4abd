import type { Pod } from '../wire/k8s-types.js';
import type { SchedulingDecision } from '../wire/scheduling-documents.js';
import type { ClusterState } from './cluster-state.js';
import type { DecisionOptions } from './decision-context.js';
import { decisionDocument } from './decision-document.js';
import { filterNodes } from './filter.js';
import { prioritizeNodes } from './prioritize.js';

/**
 * What the extender would answer for this pod now, over every node it knows: the same filter and
 * prioritize as a real request, from the caches only. kube-scheduler may rule out nodes for its own
 * reasons (resources, taints) before asking; those are not part of this answer.
 */
export function explainNow(
  pod: Pod,
  state: ClusterState,
  options: DecisionOptions,
  replica: string,
  now = new Date(),
): SchedulingDecision {
  const candidates = state.listNodes();
  const filter = filterNodes(pod, candidates, state, options);
  const passed = new Set(filter.passed);
  const prioritize = filter.error
    ? undefined
    : prioritizeNodes(
        pod,
        candidates.filter((n) => passed.has(n.metadata?.name ?? '')),
        state,
        options,
      );
  return decisionDocument(
    { filter, ...(prioritize ? { prioritize } : {}), time: now, replica, source: 'now' },
    Number.POSITIVE_INFINITY,
  );
}
