import { describe, expect, it } from 'vitest';
import type { NormalisedAction, NormalisedRule } from './rule-spec.js';
import { validateRule } from './validation.js';

function rule(...actions: Partial<NormalisedAction>[]): NormalisedRule {
  return {
    namespace: 'db',
    name: 'r',
    items: [
      {
        podSelector: {},
        container: undefined,
        actions: actions.map((a) => ({
          type: 'command',
          value: 'true',
          background: false,
          runInSinglePod: false,
          ...a,
        })),
      },
    ],
  };
}

describe('validateRule', () => {
  it('accepts commands, and background commands with ${WAIT_CMD} in a pre rule', () => {
    expect(() =>
      validateRule(rule({}, { background: true, value: 'lock; ${WAIT_CMD}' }), 'pre'),
    ).not.toThrow();
    expect(() => validateRule(rule({ value: 'unlock' }), 'post')).not.toThrow();
  });

  it('refuses an unknown action type', () => {
    expect(() => validateRule(rule({ type: 'http' }), 'pre')).toThrow(
      'rule db/r: unsupported action type: http (item 1, action 1); the only supported type is command',
    );
  });

  it('refuses background actions in a post rule (Stork message)', () => {
    expect(() => validateRule(rule({ background: true, value: '${WAIT_CMD}' }), 'post')).toThrow(
      /background actions are not supported for post snapshot rules \(item 1, action 1\)/,
    );
  });

  it('refuses a background command without ${WAIT_CMD}', () => {
    expect(() => validateRule(rule({ background: true, value: 'sleep 10' }), 'pre')).toThrow(
      /background command "sleep 10" \(item 1, action 1\) needs the \$\{WAIT_CMD\} placeholder/,
    );
  });

  it('reports every problem at once, and empty commands and items', () => {
    const bad: NormalisedRule = {
      ...rule({ type: 'x' }, { value: '  ' }),
      items: [
        ...rule({ type: 'x' }, { value: ' ' }).items,
        { podSelector: {}, container: undefined, actions: [] },
      ],
    };
    expect(() => validateRule(bad, 'pre')).toThrow(
      'rule db/r: unsupported action type: x (item 1, action 1); the only supported type is command; ' +
        'item 1, action 2 has an empty command; item 2 has no actions',
    );
  });
});
