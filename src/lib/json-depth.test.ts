import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from './json-depth.js';

describe('nestsDeeperThan', () => {
  it.each([
    ['{}', 1, false],
    ['{"a":[{}]}', 3, false],
    ['{"a":[{}]}', 2, true],
    ['"[[[[[[[["', 1, false],
    ['{"a":"\\"[[[["}', 1, false],
    ['[[[[', 3, true],
    ['[][][][]', 1, false],
    // An escaped backslash before the closing quote: the string ends there and the brackets count.
    ['["a\\\\",[[', 2, true],
    // An escaped quote, then an escaped backslash: still inside the string until the real quote.
    ['["a\\"[[\\\\"]', 1, false],
    ['["\\\\\\"[[["]', 1, false],
    // An unterminated string: its brackets are text.
    ['["[[[[', 1, false],
    ['[{"k":"v"},{"k":["x"]}]', 3, false],
    ['[{"k":"v"},{"k":[["x"]]}]', 3, true],
  ])('%s deeper than %i: %s', (text, limit, deeper) => {
    expect(nestsDeeperThan(text, limit)).toBe(deeper);
  });
});

/** The plain definition, one character at a time: what the fast scan must agree with. */
function reference(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (++depth > limit) return true;
    } else if (c === ']' || c === '}') depth--;
  }
  return false;
}

describe('nestsDeeperThan against the plain definition', () => {
  it('agrees on 20,000 random texts of brackets, quotes and backslashes', () => {
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = '[]{}"\\a,';
    const disagreements: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      let text = '';
      for (let i = 0, len = 1 + random(16); i < len; i++) text += alphabet.charAt(random(alphabet.length));
      for (const limit of [0, 1, 2, 3])
        if (nestsDeeperThan(text, limit) !== reference(text, limit)) disagreements.push(`${text} ${limit}`);
    }
    expect(disagreements.slice(0, 5)).toEqual([]);
  });
});
