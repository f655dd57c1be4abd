import type { Rule } from '../k8s/crds/rule.js';
import { isNotFound } from '../k8s/errors.js';
import { resources } from '../k8s/paths.js';
import type { CommandContext } from './context.js';
import { age, asList, CliError, formatDocument, formatTable } from './output.js';

export const ruleColumns = ['NAME', 'ITEMS', 'ACTIONS', 'AGE'] as const;

export async function getRules(ctx: CommandContext, names: readonly string[]) {
  let rules: Rule[];
  if (names.length > 0) {
    rules = [];
    for (const name of names) {
      try {
        rules.push(await ctx.api.get<Rule>(resources.rules, { namespace: ctx.namespace, name }));
      } catch (error) {
        if (isNotFound(error))
          throw new CliError(`rules "${name}" not found in namespace "${ctx.namespace}"`);
        throw error;
      }
    }
  } else {
    rules = (await ctx.api.list<Rule>(resources.rules, ctx.namespace)).items;
  }
  const format = ctx.options.output;
  if (format !== 'table') {
    ctx.io.out(formatDocument(names.length === 1 ? rules[0] : asList(rules), format));
    return;
  }
  if (rules.length === 0) {
    ctx.io.out('No resources found.\n');
    return;
  }
  ctx.io.out(
    formatTable(
      ruleColumns,
      rules.map((r) => ruleRow(r)),
    ),
  );
}

/** NAME, how many pod selectors, the action types and commands in brief, and the age. */
export function ruleRow(rule: Rule, now = Date.now()): string[] {
  const items = rule.rules ?? rule.spec ?? [];
  const actions = items.flatMap((item) =>
    item.actions.map((a) => (a.background ? `${a.type}(background)` : a.type)),
  );
  return [
    rule.metadata.name ?? '',
    String(items.length),
    actions.join(','),
    age(rule.metadata.creationTimestamp, now),
  ];
}
