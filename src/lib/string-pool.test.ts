import { describe, expect, it } from 'vitest';
import { StringPool } from './string-pool.js';

describe('StringPool', () => {
  it('holds each distinct string once, and returns what it was given', () => {
    const pool = new StringPool(10);
    const parsed = (text: string): string => JSON.parse(JSON.stringify(text)) as string;
    expect(pool.intern(parsed('node-1'))).toBe('node-1');
    expect(pool.intern(parsed('node-1'))).toBe('node-1');
    expect(pool.intern('node-2')).toBe('node-2');
    expect(pool.size).toBe(2);
  });

  it('stops adding at its capacity and still answers every string', () => {
    const pool = new StringPool(2);
    for (const s of ['a', 'b', 'c', 'd', 'a']) expect(pool.intern(s)).toBe(s);
    expect(pool.size).toBe(2);
  });
});
