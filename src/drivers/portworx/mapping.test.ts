import { describe, expect, it } from 'vitest';
import { driverNodeStatus, toDriverNode, toDriverVolume } from './mapping.js';
import { sdkStatusNames, type StorageNode, type Volume } from './sdk-types.js';

function storageNode(overrides: Partial<StorageNode> = {}): StorageNode {
  return {
    id: 'a1b2',
    status: 'STATUS_OK',
    mgmt_ip: '198.18.0.1',
    data_ip: '198.18.1.1',
    hostname: 'Worker-1.Example.COM',
    node_labels: {},
    scheduler_node_name: 'worker-1',
    scheduler_topology: null,
    ...overrides,
  };
}

function volume(overrides: Partial<Volume> = {}): Volume {
  return {
    id: '1001',
    source: null,
    readonly: false,
    locator: { name: 'pvc-abc', volume_labels: { app: 'db' } },
    spec: { size: '1073741824', ha_level: '2', replica_set: null },
    usage: '0',
    status: 'VOLUME_STATUS_UP',
    state: 'VOLUME_STATE_AVAILABLE',
    replica_sets: [],
    ...overrides,
  };
}

describe('driverNodeStatus', () => {
  it.each([
    ['STATUS_OK', 'Online'],
    ['STATUS_STORAGE_DOWN', 'StorageDown'],
    ['STATUS_STORAGE_DEGRADED', 'Degraded'],
    ['STATUS_STORAGE_REBALANCE', 'Degraded'],
    ['STATUS_STORAGE_DRIVE_REPLACE', 'Degraded'],
    ['STATUS_OFFLINE', 'Offline'],
    ['STATUS_ERROR', 'Offline'],
    ['STATUS_NEEDS_REBOOT', 'Offline'],
    ['STATUS_INIT', 'Initializing'],
    ['STATUS_MAINTENANCE', 'Maintenance'],
    ['STATUS_POOLMAINTENANCE', 'Maintenance'],
    ['STATUS_DECOMMISSION', 'Maintenance'],
    ['STATUS_NOT_IN_QUORUM', 'NotInQuorum'],
    ['STATUS_NOT_IN_QUORUM_NO_STORAGE', 'NotInQuorum'],
    ['STATUS_NONE', 'Unknown'],
    ['STATUS_MAX', 'Unknown'],
  ] as const)('maps %s to %s', (sdk, expected) => {
    expect(driverNodeStatus(sdk)).toBe(expected);
  });

  it('names every SDK status in the table above', () => {
    expect(sdkStatusNames).toHaveLength(16);
  });

  it('maps an enum number newer than our proto to Unknown (never Offline: unknown must not evict)', () => {
    expect(driverNodeStatus(42)).toBe('Unknown');
  });
});

describe('toDriverNode', () => {
  it('maps id, lower-cased hostname, both IPs, status and scheduler name', () => {
    expect(toDriverNode(storageNode())).toEqual({
      id: 'a1b2',
      hostname: 'worker-1.example.com',
      ips: ['198.18.0.1', '198.18.1.1'],
      status: 'Online',
      schedulerNodeName: 'worker-1',
    });
  });

  it('lists an IP once when management and data IP are the same, and skips empty ones', () => {
    expect(toDriverNode(storageNode({ data_ip: '198.18.0.1' })).ips).toEqual(['198.18.0.1']);
    expect(toDriverNode(storageNode({ mgmt_ip: '', data_ip: '198.18.1.1' })).ips).toEqual(['198.18.1.1']);
    expect(toDriverNode(storageNode({ mgmt_ip: '', data_ip: '' })).ips).toEqual([]);
  });

  it('leaves out an empty scheduler node name', () => {
    expect(toDriverNode(storageNode({ scheduler_node_name: '' }))).not.toHaveProperty('schedulerNodeName');
  });

  it('reads rack, zone and region from the scheduler topology', () => {
    const node = toDriverNode(
      storageNode({
        scheduler_topology: {
          labels: {
            'px/rack': 'rack-2',
            'topology.kubernetes.io/zone': 'zone-b',
            'failure-domain.beta.kubernetes.io/region': 'region-1',
          },
        },
      }),
    );
    expect([node.rack, node.zone, node.region]).toEqual(['rack-2', 'zone-b', 'region-1']);
  });

  it('refuses a node without an id, naming its hostname', () => {
    expect(() => toDriverNode(storageNode({ id: '' }))).toThrow(
      'storage node without an id (hostname "Worker-1.Example.COM")',
    );
  });
});

describe('toDriverVolume', () => {
  it('maps id, name, size and labels', () => {
    expect(toDriverVolume(volume())).toEqual({
      id: '1001',
      name: 'pvc-abc',
      sizeBytes: 1073741824,
      replicaNodeIds: [],
      labels: { app: 'db' },
    });
  });

  it('unions the replica sets in order without duplicates', () => {
    const v = toDriverVolume(volume({ replica_sets: [{ nodes: ['n2', 'n1'] }, { nodes: ['n1', 'n3'] }] }));
    expect(v.replicaNodeIds).toEqual(['n2', 'n1', 'n3']);
  });

  it('takes the parent from the source', () => {
    expect(toDriverVolume(volume({ source: { parent: '999', seed: '' } })).parentId).toBe('999');
    expect(toDriverVolume(volume({ source: { parent: '', seed: '' } }))).not.toHaveProperty('parentId');
  });

  it('falls back to the name and labels beside the volume in an Inspect answer', () => {
    const v = toDriverVolume(volume({ locator: null }), { name: 'from-response', labels: { a: 'b' } });
    expect([v.name, v.labels]).toEqual(['from-response', { a: 'b' }]);
  });

  it('treats a missing spec as size 0 and refuses a negative size, naming it', () => {
    expect(toDriverVolume(volume({ spec: null })).sizeBytes).toBe(0);
    expect(() => toDriverVolume(volume({ spec: { size: '-5', ha_level: '1', replica_set: null } }))).toThrow(
      'invalid size of volume 1001 "-5"',
    );
  });

  it('refuses a volume without an id', () => {
    expect(() => toDriverVolume(volume({ id: '' }))).toThrow('volume without an id (name "pvc-abc")');
  });
});
