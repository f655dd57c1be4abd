import { describe, expect, it } from 'vitest';
import { SimulatorState, type SimNodeSpec } from './simulator-state.js';
import { defaultNodes } from './default-nodes.js';

const threeNodes: SimNodeSpec[] = [
  { id: 'n1', hostname: 'Host-1', mgmtIp: '198.18.0.1', dataIp: '198.19.0.1' },
  { id: 'n2', mgmtIp: '198.18.0.2' },
  { id: 'n3', status: 'Offline' },
];

const gib = 1 << 30;

describe('SimulatorState nodes', () => {
  it('fills defaults: hostname = id, data IP = management IP, Online', () => {
    const state = new SimulatorState(threeNodes);
    expect(state.node('n2')).toEqual({
      id: 'n2',
      hostname: 'n2',
      mgmtIp: '198.18.0.2',
      dataIp: '198.18.0.2',
      status: 'STATUS_OK',
      schedulerNodeName: '',
      topology: {},
      labels: {},
    });
    expect(state.node('n3').status).toBe('STATUS_OFFLINE');
  });

  it('rejects duplicate ids, bad ids and bad statuses, naming them', () => {
    expect(() => new SimulatorState([{ id: 'a' }, { id: 'a' }])).toThrow('duplicate node id "a"');
    expect(() => new SimulatorState([{ id: 'a b' }])).toThrow('invalid node id "a b"');
    const state = new SimulatorState(threeNodes);
    expect(() => state.setNodeStatus('n1', 'Sleeping' as never)).toThrow(
      'node n1: unknown node status "Sleeping"',
    );
    expect(() => state.setNodeStatus('zz', 'Online')).toThrow('Id zz not found');
  });

  it('adds and replaces single nodes', () => {
    const state = new SimulatorState(threeNodes);
    expect(state.putNode({ id: 'n4' })).toBe(true);
    expect(state.putNode({ id: 'n1', hostname: 'renamed' })).toBe(false);
    expect(state.nodes().map((n) => [n.id, n.hostname])).toEqual([
      ['n1', 'renamed'],
      ['n2', 'n2'],
      ['n3', 'n3'],
      ['n4', 'n4'],
    ]);
  });

  it('refuses to replace the node set while a volume has a replica on a node that would go', () => {
    const state = new SimulatorState(threeNodes);
    const v = state.createVolume({ name: 'v', sizeBytes: gib, replicaNodes: ['n2'] });
    expect(() => state.replaceNodes([{ id: 'n1' }])).toThrow(
      `node "n2" still holds a replica of volume ${v.id}`,
    );
    state.replaceNodes([{ id: 'n2' }, { id: 'n9' }]);
    expect(state.nodes().map((n) => n.id)).toEqual(['n2', 'n9']);
    expect(state.volume(v.id)).toEqual(v);
  });
});

describe('SimulatorState volumes', () => {
  it('places replicas on the least-loaded online nodes, deterministically', () => {
    const state = new SimulatorState(threeNodes);
    const a = state.createVolume({ name: 'a', sizeBytes: gib, haLevel: 1 });
    const b = state.createVolume({ name: 'b', sizeBytes: gib, haLevel: 2 });
    const c = state.createVolume({ name: 'c', sizeBytes: gib });
    expect([a.replicaNodeIds, b.replicaNodeIds, c.replicaNodeIds]).toEqual([['n1'], ['n2', 'n1'], ['n2']]);
    expect([a.id, b.id, c.id]).toEqual(['1001', '1002', '1003']);
  });

  it('takes explicit replica nodes by id or IP, even offline ones', () => {
    const state = new SimulatorState(threeNodes);
    const v = state.createVolume({
      name: 'v',
      sizeBytes: gib,
      replicaNodes: ['n3', '198.19.0.1'],
      id: 'my-id',
    });
    expect(v).toMatchObject({ id: 'my-id', haLevel: 2, replicaNodeIds: ['n3', 'n1'] });
  });

  it('rejects bad explicit placement, naming the problem', () => {
    const state = new SimulatorState(threeNodes);
    expect(() => state.createVolume({ name: 'v', sizeBytes: gib, replicaNodes: ['nx'] })).toThrow(
      'unknown replica node "nx": not a node id or IP',
    );
    expect(() =>
      state.createVolume({ name: 'v', sizeBytes: gib, replicaNodes: ['n1', '198.18.0.1'] }),
    ).toThrow('replica node "n1" is given twice');
    expect(() => state.createVolume({ name: 'v', sizeBytes: gib, haLevel: 3, replicaNodes: ['n1'] })).toThrow(
      'ha_level 3 does not match the 1 replica nodes given (n1)',
    );
    expect(() => state.createVolume({ name: 'v', sizeBytes: gib, haLevel: 4 })).toThrow(
      'invalid ha_level 4: expected 1 to 3',
    );
    expect(() => state.createVolume({ name: 'v', sizeBytes: 0 })).toThrow('invalid size 0');
    expect(() => state.createVolume({ name: '', sizeBytes: gib })).toThrow('Must supply a unique name');
  });

  it('is idempotent by name, and refuses the same name with another size or id', () => {
    const state = new SimulatorState(threeNodes);
    const v = state.createVolume({ name: 'v', sizeBytes: gib });
    expect(state.createVolume({ name: 'v', sizeBytes: gib })).toBe(v);
    expect(() => state.createVolume({ name: 'v', sizeBytes: 2 * gib })).toThrow(
      `volume "v" exists as ${v.id} with size ${gib}, not ${2 * gib}`,
    );
    expect(() => state.createVolume({ name: 'v', sizeBytes: gib, id: 'other' })).toThrow(
      `volume "v" exists with id ${v.id}`,
    );
    expect(() => state.createVolume({ name: 'w', sizeBytes: gib, id: v.id })).toThrow(
      `volume id ${v.id} is taken`,
    );
  });

  it('records when each volume was created', () => {
    const state = new SimulatorState(threeNodes);
    const before = Date.now();
    const parent = state.createVolume({ name: 'p', sizeBytes: gib });
    const snap = state.snapshotVolume(parent.id, 's');
    const after = Date.now();
    expect(parent.createdAt).toBeGreaterThanOrEqual(before);
    expect(snap.createdAt).toBeGreaterThanOrEqual(parent.createdAt);
    expect(snap.createdAt).toBeLessThanOrEqual(after);
    // Asking again for an existing snapshot returns it as it was, not a newer one.
    expect(state.snapshotVolume(parent.id, 's').createdAt).toBe(snap.createdAt);
  });

  it('clones and snapshots onto the parent nodes, with the parent id', () => {
    const state = new SimulatorState(threeNodes);
    const parent = state.createVolume({ name: 'p', sizeBytes: gib, haLevel: 2, labels: { app: 'db' } });
    const clone = state.cloneVolume('c', parent.id);
    const snap = state.snapshotVolume(parent.id, 's', { kind: 'daily' });
    expect(clone).toMatchObject({ parentId: parent.id, snapshot: false, labels: { app: 'db' } });
    expect(snap).toMatchObject({ parentId: parent.id, snapshot: true, labels: { kind: 'daily' } });
    for (const v of [clone, snap]) {
      expect(v.replicaNodeIds).toEqual(parent.replicaNodeIds);
      expect(v.sizeBytes).toBe(gib);
    }
    expect(state.snapshotVolume(parent.id, 's')).toBe(snap);
    expect(() => state.cloneVolume('s', parent.id)).toThrow(
      `volume "s" exists as ${snap.id} with another parent`,
    );
    expect(() => state.cloneVolume('x', '4242')).toThrow('Volume id 4242 not found');
  });

  it('deletes, and reset restores the initial nodes and numbering', () => {
    const state = new SimulatorState(threeNodes);
    const v = state.createVolume({ name: 'v', sizeBytes: gib });
    state.setNodeStatus('n1', 'StorageDown');
    expect(state.deleteVolume(v.id)).toBe(true);
    expect(state.deleteVolume(v.id)).toBe(false);
    state.createVolume({ name: 'w', sizeBytes: gib });
    state.reset();
    expect(state.volumes()).toEqual([]);
    expect(state.node('n1').status).toBe('STATUS_OK');
    expect(state.createVolume({ name: 'again', sizeBytes: gib }).id).toBe('1001');
    state.reset([{ id: 'solo' }]);
    expect(state.nodes().map((n) => n.id)).toEqual(['solo']);
  });
});

describe('defaultNodes', () => {
  it("mirrors the box's node names, IPs and topology", () => {
    const nodes = defaultNodes(3);
    expect(nodes[0]).toEqual({
      id: 'px-node-1',
      hostname: 'node-1',
      mgmtIp: '127.1.0.2',
      dataIp: '127.1.0.2',
      schedulerNodeName: 'node-1',
      topology: {
        'px/rack': 'rack-1',
        'topology.kubernetes.io/zone': 'zone-a',
        'topology.kubernetes.io/region': 'region-1',
      },
    });
    expect(nodes.map((n) => n.mgmtIp)).toEqual(['127.1.0.2', '127.1.0.3', '127.1.0.4']);
    expect(defaultNodes(250)[249]?.mgmtIp).toBe('127.1.1.1');
    expect(() => defaultNodes(0)).toThrow('node count must be a whole number from 1 to 5000, got 0');
  });
});
