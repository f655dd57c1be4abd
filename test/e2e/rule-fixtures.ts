import type { RulesConfig } from '../../src/controllers/rules/config.js';
import type { KubeApi } from '../../src/k8s/api.js';
import type { Rule, RuleItem } from '../../src/k8s/crds/rule.js';
import { resources } from '../../src/k8s/paths.js';

/**
 * Rule timings short enough for a test, long enough for a busy machine: a command gets two attempts of
 * 15 s, a background command 15 s to start and 20 s to exit once released.
 */
export const testRuleTimings = {
  commandTimeoutMs: 15_000,
  commandAttempts: 2,
  retryIntervalMs: 100,
  backgroundReadyTimeoutMs: 15_000,
  backgroundPollIntervalMs: 100,
  releaseRetryIntervalMs: 100,
  releaseExitTimeoutMs: 20_000,
} as const satisfies Partial<RulesConfig>;

/**
 * Creates Rules (`rules:` shape) in the namespace `namespace()` names when called, as rule-1, rule-2, …;
 * resolves to the new rule's name.
 */
export function ruleCreator(
  api: () => KubeApi,
  namespace: () => string,
): (items: RuleItem[]) => Promise<string> {
  let created = 0;
  return async (items) => {
    const name = `rule-${++created}`;
    const body: Rule = {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'Rule',
      metadata: { name },
      rules: items,
    };
    await api().create(resources.rules, body, namespace());
    return name;
  };
}

/** A rule item running `value` in the pods labelled app=db (in the background if asked). */
export const dbCommand = (value: string, background = false): RuleItem => ({
  podSelector: { app: 'db' },
  actions: [{ type: 'command', value, ...(background ? { background: true } : {}) }],
});
