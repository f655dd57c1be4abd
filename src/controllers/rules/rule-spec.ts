import type { ObjectMeta } from '../../wire/k8s-types.js';
import type { Rule, RuleAction, RuleItem } from '../../k8s/crds/rule.js';

/** When a rule runs relative to the snapshot. */
export type RulePhase = 'pre' | 'post';

/** The snapshot annotations that name rules: the later keys first, then the early ones (still honoured). */
export const ruleAnnotations: Record<RulePhase, readonly string[]> = {
  pre: ['stork.libopenstorage.org/pre-snapshot-rule', 'stork.rule/pre-snapshot'],
  post: ['stork.libopenstorage.org/post-snapshot-rule', 'stork.rule/post-snapshot'],
};

/**
 * The rule a snapshot names for a phase, or undefined. When both keys are set to different rules the
 * snapshot is ambiguous, which is reported rather than guessed.
 */
export function ruleNameFor(metadata: ObjectMeta, phase: RulePhase): string | undefined {
  const names = new Set(
    ruleAnnotations[phase]
      .map((key) => metadata.annotations?.[key]?.trim())
      .filter((name): name is string => name !== undefined && name !== ''),
  );
  if (names.size > 1) {
    throw new RuleValidationError(
      `the snapshot names two different ${phase}-snapshot rules (${[...names].join(', ')}) in ` +
        `annotations ${ruleAnnotations[phase].join(' and ')}`,
    );
  }
  return [...names][0];
}

/** A rule or its use is invalid; the message is for users. */
export class RuleValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuleValidationError';
  }
}

/** A rule item in one shape, whichever shape the Rule was written in. */
export interface NormalisedItem {
  readonly podSelector: Readonly<Record<string, string>>;
  readonly container: string | undefined;
  readonly actions: readonly NormalisedAction[];
}

export interface NormalisedAction {
  readonly type: string;
  readonly value: string;
  readonly background: boolean;
  readonly runInSinglePod: boolean;
}

/** A rule ready to run: its name, namespace and items. */
export interface NormalisedRule {
  readonly namespace: string;
  readonly name: string;
  readonly items: readonly NormalisedItem[];
}

/**
 * Reads both shapes of Rule: early ones list the items in `spec`, later ones in `rules`. A Rule with
 * both, or with neither, is refused instead of guessing which list was meant.
 */
export function normaliseRule(rule: Rule): NormalisedRule {
  const namespace = rule.metadata.namespace ?? '';
  const name = rule.metadata.name ?? '';
  const id = `${namespace}/${name}`;
  const early = Array.isArray(rule.spec) ? rule.spec : undefined;
  const later = Array.isArray(rule.rules) ? rule.rules : undefined;
  if (early && later && early.length > 0 && later.length > 0) {
    throw new RuleValidationError(`rule ${id} has items in both spec and rules; keep one of them`);
  }
  const items = later && later.length > 0 ? later : (early ?? later ?? []);
  if (items.length === 0) throw new RuleValidationError(`rule ${id} has no items (in spec or rules)`);
  return { namespace, name, items: items.map((item) => normaliseItem(item)) };
}

function normaliseItem(item: RuleItem): NormalisedItem {
  return {
    podSelector: { ...item.podSelector },
    container: item.container && item.container !== '' ? item.container : undefined,
    actions: (item.actions as RuleAction[] | undefined)?.map((action) => normaliseAction(action)) ?? [],
  };
}

function normaliseAction(action: RuleAction): NormalisedAction {
  return {
    type: action.type,
    value: action.value,
    background: action.background === true,
    runInSinglePod: action.runInSinglePod === true,
  };
}
