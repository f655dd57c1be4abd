import { describe, expect, it } from 'vitest';
import { normaliseRule, ruleNameFor, RuleValidationError } from './rule-spec.js';

const meta = { name: 'mysql-presnap', namespace: 'db' };
const items = [{ podSelector: { app: 'mysql' }, actions: [{ type: 'command', value: 'sync' }] }];

describe('normaliseRule', () => {
  it('reads the early shape (items in spec) and the later one (items in rules) alike', () => {
    const early = normaliseRule({ metadata: meta, spec: items });
    const later = normaliseRule({
      metadata: meta,
      rules: [{ ...items[0], container: 'mysql', actions: items[0]?.actions ?? [] }],
    });
    expect(early.items).toEqual([
      {
        podSelector: { app: 'mysql' },
        container: undefined,
        actions: [{ type: 'command', value: 'sync', background: false, runInSinglePod: false }],
      },
    ]);
    expect(later.items[0]?.container).toBe('mysql');
    expect(later.items[0]?.actions).toEqual(early.items[0]?.actions);
    expect(early).toMatchObject({ namespace: 'db', name: 'mysql-presnap' });
  });

  it('keeps background and runInSinglePod', () => {
    const rule = normaliseRule({
      metadata: meta,
      rules: [
        { actions: [{ type: 'command', value: 'x ${WAIT_CMD}', background: true, runInSinglePod: true }] },
      ],
    });
    expect(rule.items[0]?.actions[0]).toMatchObject({ background: true, runInSinglePod: true });
    expect(rule.items[0]?.podSelector).toEqual({});
  });

  it('refuses a rule with items in both places, or in neither', () => {
    expect(() => normaliseRule({ metadata: meta, spec: items, rules: items })).toThrow(
      /rule db\/mysql-presnap has items in both spec and rules/,
    );
    expect(() => normaliseRule({ metadata: meta })).toThrow(/rule db\/mysql-presnap has no items/);
    expect(() => normaliseRule({ metadata: meta, rules: [] })).toThrow(RuleValidationError);
  });
});

describe('ruleNameFor', () => {
  it('reads the later and the early annotation keys', () => {
    expect(ruleNameFor({ annotations: { 'stork.libopenstorage.org/pre-snapshot-rule': 'a' } }, 'pre')).toBe(
      'a',
    );
    expect(ruleNameFor({ annotations: { 'stork.rule/pre-snapshot': 'b' } }, 'pre')).toBe('b');
    expect(ruleNameFor({ annotations: { 'stork.rule/post-snapshot': 'c' } }, 'post')).toBe('c');
    expect(ruleNameFor({ annotations: { 'stork.rule/post-snapshot': 'c' } }, 'pre')).toBeUndefined();
    expect(ruleNameFor({}, 'post')).toBeUndefined();
  });

  it('accepts both keys naming the same rule, and refuses two different rules', () => {
    const same = { 'stork.rule/pre-snapshot': 'a', 'stork.libopenstorage.org/pre-snapshot-rule': 'a' };
    expect(ruleNameFor({ annotations: same }, 'pre')).toBe('a');
    const different = { ...same, 'stork.rule/pre-snapshot': 'b' };
    expect(() => ruleNameFor({ annotations: different }, 'pre')).toThrow(
      /two different pre-snapshot rules \(a, b\)/,
    );
  });
});
