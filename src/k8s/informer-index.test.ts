import { describe, expect, it } from 'vitest';
import { InformerIndex } from './informer-index.js';

interface Obj {
  readonly node?: string;
  readonly nodes?: string[];
}

describe('InformerIndex', () => {
  const byNode = (o: Obj): string[] => o.nodes ?? (o.node ? [o.node] : []);

  it('files objects under their keys and moves them when they change', () => {
    const index = new InformerIndex<Obj>(byNode);
    index.update('ns/a', undefined, { node: 'n1' });
    index.update('ns/b', undefined, { node: 'n1' });
    expect([...index.keys('n1')]).toEqual(['ns/a', 'ns/b']);
    index.update('ns/a', { node: 'n1' }, { node: 'n2' });
    expect([...index.keys('n1')]).toEqual(['ns/b']);
    expect([...index.keys('n2')]).toEqual(['ns/a']);
  });

  it('forgets deleted objects and empty keys', () => {
    const index = new InformerIndex<Obj>(byNode);
    index.update('x', undefined, { nodes: ['n1', 'n2'] });
    index.update('x', { nodes: ['n1', 'n2'] }, undefined);
    expect(index.keys('n1').size).toBe(0);
    expect(index.keys('n2').size).toBe(0);
  });

  it('leaves objects without a key out', () => {
    const index = new InformerIndex<Obj>(byNode);
    index.update('pending', undefined, {});
    expect(index.keys('').size).toBe(0);
  });
});
