import { RuleValidationError, type NormalisedRule, type RulePhase } from './rule-spec.js';

/** The placeholder a background command must contain: where it waits while the snapshot is taken. */
export const waitCmdPlaceholder = '${WAIT_CMD}';

/**
 * Checks a rule for use in a phase, before anything runs: every problem of the rule is reported at once,
 * so a user fixes it in one go. Throws {@link RuleValidationError}.
 */
export function validateRule(rule: NormalisedRule, phase: RulePhase): void {
  const id = `${rule.namespace}/${rule.name}`;
  const problems: string[] = [];
  rule.items.forEach((item, i) => {
    const where = `item ${i + 1}`;
    if (item.actions.length === 0) problems.push(`${where} has no actions`);
    item.actions.forEach((action, j) => {
      const at = `${where}, action ${j + 1}`;
      if (action.type !== 'command') {
        problems.push(`unsupported action type: ${action.type} (${at}); the only supported type is command`);
        return;
      }
      if (action.value.trim() === '') problems.push(`${at} has an empty command`);
      if (action.background && phase === 'post') {
        problems.push(`background actions are not supported for post snapshot rules (${at})`);
      } else if (action.background && !action.value.includes(waitCmdPlaceholder)) {
        problems.push(
          `background command "${action.value}" (${at}) needs the ${waitCmdPlaceholder} placeholder, ` +
            'where it waits while the snapshot is taken',
        );
      }
    });
  });
  if (problems.length > 0) throw new RuleValidationError(`rule ${id}: ${problems.join('; ')}`);
}
