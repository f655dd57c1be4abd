import type { Node } from '../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import { factsOf, schedulingIndexes, SchedulingIndexes } from './indexes.js';

describe('schedulingIndexes', () => {
  const fixture = schedulingFixture({
    nodes: [
      { name: 'node1', rack: 'r1' },
      { name: 'node2', rack: 'r2' },
    ],
  });

  it('is reused while the storage node list is the same array', () => {
    const first = schedulingIndexes(fixture.state);
    expect(schedulingIndexes({ ...fixture.state })).toBe(first);
    const changed = {
      ...fixture.state,
      snapshot: { ...fixture.state.snapshot, nodes: [...fixture.state.snapshot.nodes] },
    };
    expect(schedulingIndexes(changed)).not.toBe(first);
  });

  it('recomputes a node only when its object is replaced, as an informer does on update', () => {
    const indexes = schedulingIndexes(fixture.state);
    const node1 = fixture.nodes[0] as Node;
    const facts = indexes.nodeFacts(node1);
    expect(facts.locality.rack).toBe('r1');
    expect(indexes.nodeFacts(node1)).toBe(facts);
    const relabelled: Node = { ...node1, metadata: { ...node1.metadata, labels: { 'px/rack': 'r9' } } };
    expect(indexes.nodeFacts(relabelled).locality.rack).toBe('r9');
    expect(indexes.nodeFacts(relabelled).driverNode?.id).toBe(facts.driverNode?.id);
  });

  it('finds a node and its facts by name, from the node list of the current version only', () => {
    const indexes = schedulingIndexes(fixture.state);
    const node1 = fixture.nodes[0] as Node;
    expect(indexes.entry('node1', fixture.state)).toEqual({ node: node1, facts: indexes.nodeFacts(node1) });
    expect(indexes.entry('ghost', fixture.state)).toBeUndefined();
    const relabelled: Node = { ...node1, metadata: { ...node1.metadata, labels: { 'px/rack': 'r9' } } };
    const updated = {
      ...fixture.state,
      listNodes: () => [relabelled, fixture.nodes[1] as Node],
      getNode: (name: string) => (name === 'node1' ? relabelled : fixture.state.getNode(name)),
      nodesVersion: fixture.state.nodesVersion + 1,
    };
    expect(schedulingIndexes(updated)).toBe(indexes);
    expect(indexes.entry('node1', updated)?.node).toBe(relabelled);
    expect(indexes.entry('node1', updated)?.facts.locality.rack).toBe('r9');
  });

  it('uses facts given for the candidates only if they came from the same indexes', () => {
    const indexes = schedulingIndexes(fixture.state);
    const candidates = [fixture.nodes[0] as Node];
    const other = new SchedulingIndexes(fixture.state.snapshot.nodes, 'px/rack');
    const foreign = { indexes: other, facts: [other.nodeFacts({ metadata: { name: 'x' } })] };
    expect(factsOf(indexes, candidates, foreign)(0)).toBe(indexes.nodeFacts(candidates[0] as Node));
    const given = { indexes, facts: [indexes.nodeFacts(fixture.nodes[1] as Node)] };
    expect(factsOf(indexes, candidates, given)(0)).toBe(given.facts[0]);
  });
});
