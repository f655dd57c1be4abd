// The simulator's SDK surface over real gRPC on loopback, through the driver's SDK client: the volume
// life cycle (create, clone, snapshot, restore, delete), enumeration and the status codes.
import { status } from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DriverError, DriverNotFoundError } from '../drivers/driver.js';
import { SdkClient } from '../drivers/portworx/sdk-client.js';
import { startSimulator, type RunningSimulator } from './simulator.js';
import { rejection } from './testing.js';

let sim: RunningSimulator;
let sdk: SdkClient;

beforeAll(async () => {
  sim = await startSimulator({
    nodes: [{ id: 'n1', mgmtIp: '198.18.0.1' }, { id: 'n2' }, { id: 'n3' }],
    clusterId: 'test-cluster',
  });
  sdk = new SdkClient({ endpoint: sim.grpcEndpoint });
});
afterAll(async () => {
  sdk.close();
  await sim.stop();
});
beforeEach(() => {
  sim.state.reset();
});

function codeOf(error: Error): unknown {
  return (error.cause as { code?: unknown } | undefined)?.code;
}

describe('simulator SDK server', () => {
  it('reports its identity and cluster', async () => {
    expect(await sdk.call('OpenStorageIdentity/Version', {})).toEqual({
      sdk_version: { major: 0, minor: 101, patch: 33, version: '0.101.33' },
      version: { driver: 'pxd-simulator', version: '0.1.0', details: {} },
    });
    expect(await sdk.call('OpenStorageCluster/InspectCurrent', {})).toEqual({
      cluster: { status: 'STATUS_OK', id: 'test-cluster', name: 'test-cluster' },
    });
  });

  it('enumerates node ids', async () => {
    expect(await sdk.call('OpenStorageNode/Enumerate', {})).toEqual({ node_ids: ['n1', 'n2', 'n3'] });
  });

  it('creates a volume with explicit replica nodes given by IP, and inspects it', async () => {
    const { volume_id } = await sdk.call('OpenStorageVolume/Create', {
      name: 'pvc-1',
      spec: { size: 5 * 2 ** 30, ha_level: 2, replica_set: { nodes: ['n3', '198.18.0.1'] } },
      labels: { app: 'db' },
    });
    const inspected = await sdk.call('OpenStorageVolume/Inspect', { volume_id });
    expect(inspected).toEqual({
      name: 'pvc-1',
      labels: { app: 'db' },
      volume: {
        id: volume_id,
        source: { parent: '', seed: '' },
        readonly: false,
        locator: { name: 'pvc-1', volume_labels: { app: 'db' } },
        spec: { size: String(5 * 2 ** 30), ha_level: '2', replica_set: { nodes: ['n3', 'n1'] } },
        usage: '0',
        status: 'VOLUME_STATUS_UP',
        state: 'VOLUME_STATE_AVAILABLE',
        replica_sets: [{ nodes: ['n3', 'n1'] }],
      },
    });
  });

  it('reports a volume DEGRADED, then DOWN, as its replica nodes go offline', async () => {
    const { volume_id } = await sdk.call('OpenStorageVolume/Create', {
      name: 'v',
      spec: { size: 1, ha_level: 2, replica_set: { nodes: ['n1', 'n2'] } },
    });
    const statusOf = async () => (await sdk.call('OpenStorageVolume/Inspect', { volume_id })).volume?.status;
    sim.state.setNodeStatus('n1', 'Offline');
    expect(await statusOf()).toBe('VOLUME_STATUS_DEGRADED');
    sim.state.setNodeStatus('n2', 'StorageDown');
    expect(await statusOf()).toBe('VOLUME_STATUS_DOWN');
  });

  it('clones and snapshots onto the parent nodes, lists and restores snapshots, and deletes', async () => {
    const { volume_id: parent } = await sdk.call('OpenStorageVolume/Create', {
      name: 'parent',
      spec: { size: 1024, ha_level: 2 },
    });
    const { volume_id: clone } = await sdk.call('OpenStorageVolume/Clone', {
      name: 'clone',
      parent_id: parent,
    });
    const { snapshot_id: snap } = await sdk.call('OpenStorageVolume/SnapshotCreate', {
      volume_id: parent,
      name: 'snap',
      labels: { schedule: 'daily' },
    });
    const [p, c, s] = await Promise.all(
      [parent, clone, snap].map(
        async (id) => (await sdk.call('OpenStorageVolume/Inspect', { volume_id: id })).volume,
      ),
    );
    expect(c?.source?.parent).toBe(parent);
    expect(s?.source?.parent).toBe(parent);
    expect(s?.readonly).toBe(true);
    expect(c?.replica_sets).toEqual(p?.replica_sets);
    expect(s?.replica_sets).toEqual(p?.replica_sets);

    expect(await sdk.call('OpenStorageVolume/SnapshotEnumerate', { volume_id: parent })).toEqual({
      volume_snapshot_ids: [snap],
    });
    expect(await sdk.call('OpenStorageVolume/SnapshotEnumerate', { volume_id: clone })).toEqual({
      volume_snapshot_ids: [],
    });
    expect(
      await sdk.call('OpenStorageVolume/SnapshotEnumerateWithFilters', { labels: { schedule: 'weekly' } }),
    ).toEqual({ volume_snapshot_ids: [] });
    await sdk.call('OpenStorageVolume/SnapshotRestore', { volume_id: parent, snapshot_id: snap });
    const wrong = await rejection(
      sdk.call('OpenStorageVolume/SnapshotRestore', { volume_id: clone, snapshot_id: snap }),
    );
    expect(wrong.message).toContain(`INVALID_ARGUMENT: ${snap} is not a snapshot of volume ${clone}`);

    expect(await sdk.call('OpenStorageVolume/Enumerate', {})).toEqual({ volume_ids: [parent, clone, snap] });
    await sdk.call('OpenStorageVolume/Delete', { volume_id: clone });
    await sdk.call('OpenStorageVolume/Delete', { volume_id: clone }); // idempotent, as upstream
    expect(await sdk.call('OpenStorageVolume/Enumerate', {})).toEqual({ volume_ids: [parent, snap] });
  });

  it('filters by name and labels', async () => {
    await sdk.call('OpenStorageVolume/Create', { name: 'a', spec: { size: 1 }, labels: { app: 'x' } });
    const { volume_id: b } = await sdk.call('OpenStorageVolume/Create', {
      name: 'b',
      spec: { size: 1 },
      labels: { app: 'y' },
    });
    expect(await sdk.call('OpenStorageVolume/EnumerateWithFilters', { labels: { app: 'y' } })).toEqual({
      volume_ids: [b],
    });
    const byName = await sdk.call('OpenStorageVolume/InspectWithFilters', { name: 'b' });
    expect(byName.volumes.map((v) => v.volume?.id)).toEqual([b]);
  });

  it('answers with the status codes of an SDK server', async () => {
    const notFound = await rejection(
      sdk.call('OpenStorageVolume/Inspect', { volume_id: '4242' }, { what: 'volume "4242"' }),
    );
    expect(notFound).toBeInstanceOf(DriverNotFoundError);
    expect(codeOf(notFound)).toBe(status.NOT_FOUND);

    // Thunks, run one after another: the ALREADY_EXISTS case depends on the create before it.
    const cases: [() => Promise<unknown>, status, string][] = [
      [() => sdk.call('OpenStorageVolume/Inspect', {}), status.INVALID_ARGUMENT, 'Must supply volume id'],
      [
        () => sdk.call('OpenStorageVolume/Create', { name: 'n' }),
        status.INVALID_ARGUMENT,
        'Must supply spec object',
      ],
      [() => sdk.call('OpenStorageNode/Inspect', { node_id: 'zz' }), status.NOT_FOUND, 'Id zz not found'],
      [
        () => sdk.call('OpenStorageVolume/Create', { name: 'big', spec: { size: 2, ha_level: 3 } }),
        status.ALREADY_EXISTS,
        'with size 1, not 2',
      ],
      [
        () => sdk.call('OpenStorageVolume/SnapshotCreate', { volume_id: '4242', name: 's' }),
        status.NOT_FOUND,
        'Volume id 4242 not found',
      ],
    ];
    await sdk.call('OpenStorageVolume/Create', { name: 'big', spec: { size: 1, ha_level: 3 } });
    for (const [run, code, text] of cases) {
      const error = await rejection(run());
      expect(error, text).toBeInstanceOf(DriverError);
      expect(codeOf(error), text).toBe(code);
      expect((error.cause as { details?: string }).details, text).toContain(text);
    }
    sim.state.setNodeStatus('n3', 'Offline');
    const exhausted = await rejection(
      sdk.call('OpenStorageVolume/Create', { name: 'c', spec: { size: 1, ha_level: 3 } }),
    );
    expect(codeOf(exhausted)).toBe(status.RESOURCE_EXHAUSTED);
  });
});
