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
  ])('%s deeper than %i: %s', (text, limit, deeper) => {
    expect(nestsDeeperThan(text, limit)).toBe(deeper);
  });
});
