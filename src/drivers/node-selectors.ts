import type { LabelSelector, Node, NodeSelector, NodeSelectorRequirement } from '../wire/k8s-types.js';

/**
 * Kubernetes' two node-matching languages, as the scheduler evaluates them: a PersistentVolume's
 * `nodeAffinity.required` (a NodeSelector: terms ORed, requirements within a term ANDed) and a
 * CSIStorageCapacity's `nodeTopology` (a LabelSelector).
 */

function requirementHolds(value: string | undefined, requirement: NodeSelectorRequirement): boolean {
  const values = requirement.values ?? [];
  switch (requirement.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const [limit] = values;
      if (value === undefined || limit === undefined) return false;
      const v = Number.parseInt(value, 10);
      const l = Number.parseInt(limit, 10);
      if (Number.isNaN(v) || Number.isNaN(l)) return false;
      return requirement.operator === 'Gt' ? v > l : v < l;
    }
    default:
      return false;
  }
}

/** Whether a node satisfies a NodeSelector; a selector without terms matches nothing, as in Kubernetes. */
export function nodeSelectorMatches(selector: NodeSelector, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  const fields: Record<string, string | undefined> = { 'metadata.name': node.metadata?.name };
  return selector.nodeSelectorTerms.some((term) => {
    const expressions = term.matchExpressions ?? [];
    const matchFields = term.matchFields ?? [];
    // An empty term matches no objects.
    if (expressions.length === 0 && matchFields.length === 0) return false;
    return (
      expressions.every((r) => requirementHolds(labels[r.key], r)) &&
      matchFields.every((r) => requirementHolds(fields[r.key], r))
    );
  });
}

/** The requirements of a NodeSelector, rendered for a reason a user reads. */
export function describeNodeSelector(selector: NodeSelector): string {
  return selector.nodeSelectorTerms
    .map((term) =>
      [...(term.matchExpressions ?? []), ...(term.matchFields ?? [])]
        .map((r) => `${r.key} ${r.operator}${r.values?.length ? ` [${r.values.join(', ')}]` : ''}`)
        .join(' and '),
    )
    .join(' or ');
}

/** Whether a node's labels satisfy a LabelSelector; an empty selector matches every node. */
export function labelSelectorMatches(selector: LabelSelector, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) return false;
  }
  return (selector.matchExpressions ?? []).every((r) =>
    requirementHolds(labels[r.key], { key: r.key, operator: r.operator, values: r.values ?? [] }),
  );
}
