import { describe, expect, it } from 'vitest';
import { wireScores } from './wire-score.js';

function sameOrder(raw: number[], wire: number[]): boolean {
  for (let i = 0; i < raw.length; i++) {
    for (let j = 0; j < raw.length; j++) {
      const r = Math.sign((raw[i] ?? 0) - (raw[j] ?? 0));
      const w = Math.sign((wire[i] ?? 0) - (wire[j] ?? 0));
      if (r !== w) return false;
    }
  }
  return true;
}

describe('wireScores', () => {
  it('keeps the ranking of every catalogue case within 0..10', () => {
    const cases = [
      [50, 5, 5],
      [100, 100, 50, 50, 5],
      [100, 200, 100, 50, 100],
      [125, 200, 100, 25, 5],
      [125, 200, 110, 5, 5],
      [100, 200, 25, 50, 100],
      [100, 5, 0],
      [200, 10, 5, 0, 125, 12.5],
    ];
    for (const raw of cases) {
      const wire = wireScores(raw);
      expect(wire.every((s) => Number.isInteger(s) && s >= 0 && s <= 10)).toBe(true);
      expect(sameOrder(raw, wire), `${raw.join(',')} -> ${wire.join(',')}`).toBe(true);
    }
  });

  it('gives the best node 10 and the worst 0', () => {
    expect(wireScores([100, 5, 50])).toEqual([10, 0, 5]);
  });

  it('gives no preference when all are equal', () => {
    expect(wireScores([5, 5, 5])).toEqual([0, 0, 0]);
    expect(wireScores([])).toEqual([]);
  });

  it('keeps the order (not necessarily strict) beyond 11 distinct values', () => {
    const raw = Array.from({ length: 20 }, (_, i) => i * 7);
    const wire = wireScores(raw);
    for (let i = 1; i < wire.length; i++) expect(wire[i] ?? 0).toBeGreaterThanOrEqual(wire[i - 1] ?? 0);
    expect(wire[0]).toBe(0);
    expect(wire[19]).toBe(10);
  });
});
