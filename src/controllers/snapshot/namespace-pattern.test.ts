import { describe, expect, it } from 'vitest';
import { compileNamespacePattern, maxPatternStates, NamespacePatternError } from './namespace-pattern.js';

const matches = (pattern: string, text: string): boolean => compileNamespacePattern(pattern).test(text);

describe('compileNamespacePattern', () => {
  it.each([
    // pattern, namespace, whole-name match (the pattern is anchored ^…$)
    ['dst', 'dst', true],
    ['dst', 'dst-2', false],
    ['ds', 'dst', false],
    ['dst-.*', 'dst-2', true],
    ['dst-.*', 'dst-', true],
    ['dst-.+', 'dst-', false],
    ['a|dst', 'dst', true],
    ['a|dst', 'a', true],
    ['(a|b)c', 'bc', true],
    ['(?:a|b)c', 'ac', true],
    ['team-(dev|prod)-[0-9]+', 'team-prod-42', true],
    ['team-(dev|prod)-[0-9]+', 'team-qa-42', false],
    ['[^x]+', 'abc', true],
    ['[^x]+', 'axc', false],
    ['[a-c-]*', 'a-b-c', true],
    ['\\d{2,3}', '12', true],
    ['\\d{2,3}', '1234', false],
    ['x{3}', 'xxx', true],
    ['x{3}', 'xx', false],
    ['x{2,}', 'xxxxx', true],
    ['ns\\-a\\.b', 'ns-a.b', true],
    ['\\w+', 'a_b9', true],
    ['^dst$', 'dst', true],
    ['colou?r', 'color', true],
    ['a*?b', 'aab', true],
    ['(a*)*b', 'aaab', true],
    ['', '', true],
    ['()', 'a', false],
  ])('%s against %s: %s', (pattern, text, expected) => {
    expect(matches(pattern, text)).toBe(expected);
  });

  it('answers the catastrophic patterns of a backtracking engine, without backtracking', () => {
    // V8's own engine takes seconds on these for an 18-character name that does not match.
    const name = 'aaaaaaaaaaaaaaaaa!';
    expect(name).toHaveLength(18);
    expect(matches('(a+)+$', name)).toBe(false);
    expect(matches('(a|a)*$', name)).toBe(false);
    expect(matches('(a*)*b', name)).toBe(false);
    expect(matches('((a+)+)+', 'a'.repeat(63))).toBe(true);
    expect(matches('(.*a){20}', 'a'.repeat(63))).toBe(true);
    expect(matches('(.*a){20}', `${'a'.repeat(19)}b`)).toBe(false);
  });

  it.each([
    ['(', /missing \)/],
    ['a)', /unmatched \)/],
    ['[a-', /unterminated/],
    ['*a', /nothing to repeat/],
    ['a**', /nothing to repeat/],
    ['a{2,1}', /out of order/],
    ['a{1000}', /at most 100/],
    ['(?=a)', /lookaround/],
    ['(?<n>a)', /not supported/],
    ['(a)\\1', /backreference/],
    ['\\bx', /not supported/],
    ['a^b', /\^ only at the start/],
    ['a$b', /\$ only at the end/],
    ['[z-a]', /out of order/],
  ])('refuses %s, saying why', (pattern, reason) => {
    expect(() => compileNamespacePattern(pattern)).toThrow(NamespacePatternError);
    expect(() => compileNamespacePattern(pattern)).toThrow(reason);
  });

  it('refuses a pattern that would compile to too many states', () => {
    expect(() => compileNamespacePattern('((a{100}){100}){100}')).toThrow(/too complex/);
    expect(() => compileNamespacePattern('a{100}')).not.toThrow();
    expect(maxPatternStates).toBeGreaterThan(1000);
  });
});
