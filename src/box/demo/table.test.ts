import { describe, expect, it } from 'vitest';
import { table } from './table.js';

describe('table', () => {
  it('aligns columns under upper-case headers', () => {
    expect(
      table([
        { node: 'node-1', score: 10 },
        { node: 'n2', score: 0 },
      ]),
    ).toBe(['NODE    SCORE', 'node-1  10', 'n2      0'].join('\n'));
  });

  it('prints nothing for no rows', () => {
    expect(table([])).toBe('');
  });
});
