import type { Node } from '../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import { schedulingIndexes } from './indexes.js';

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
});
