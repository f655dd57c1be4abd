import { describe, expect, it } from 'vitest';
import { SimulatorError } from './errors.js';
import { pickReplicaNodes, type PlacementNode } from './placement.js';

const nodes: PlacementNode[] = [
  { id: 'a', status: 'STATUS_OK' },
  { id: 'b', status: 'STATUS_OK' },
  { id: 'c', status: 'STATUS_OK' },
  { id: 'd', status: 'STATUS_OFFLINE' },
];

describe('pickReplicaNodes', () => {
  it('takes nodes in order when all are equally loaded', () => {
    expect(pickReplicaNodes(nodes, new Map(), 2)).toEqual(['a', 'b']);
  });

  it('prefers the least-loaded nodes, ties by node order', () => {
    expect(
      pickReplicaNodes(
        nodes,
        new Map([
          ['a', 2],
          ['b', 1],
        ]),
        2,
      ),
    ).toEqual(['c', 'b']);
  });

  it('never picks a node that is not STATUS_OK, however idle', () => {
    const storageDown: PlacementNode[] = [...nodes, { id: 'e', status: 'STATUS_STORAGE_DOWN' }];
    const load = new Map([
      ['a', 5],
      ['b', 5],
      ['c', 5],
    ]);
    expect(pickReplicaNodes(storageDown, load, 3)).toEqual(['a', 'b', 'c']);
  });

  it('refuses more replicas than online nodes, naming the counts and the online nodes', () => {
    expect(() => pickReplicaNodes(nodes, new Map(), 4)).toThrow(
      new SimulatorError('ResourceExhausted', 'ha_level 4 needs 4 online nodes, but 3 are online (a, b, c)'),
    );
    expect(() => pickReplicaNodes([{ id: 'x', status: 'STATUS_OFFLINE' }], new Map(), 1)).toThrow(
      'ha_level 1 needs 1 online nodes, but 0 are online',
    );
  });
});
