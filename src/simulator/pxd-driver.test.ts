// Integration: the pxd driver against the simulator over real gRPC on loopback.
import { status } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DriverError, DriverNotFoundError } from '../drivers/driver.js';
import { PortworxDriver } from '../drivers/portworx/portworx-driver.js';
import { createDriver } from '../drivers/registry.js';
import type { SimNodeSpec } from './simulator-state.js';
import { startSimulator, type RunningSimulator } from './simulator.js';
import { rejection } from './testing.js';

const token = 'sim-token';
const nodes: SimNodeSpec[] = [
  {
    id: 'px-a',
    hostname: 'Node-A',
    mgmtIp: '198.18.0.1',
    dataIp: '198.19.0.1',
    schedulerNodeName: 'node-a',
    topology: { 'px/rack': 'r1', 'topology.kubernetes.io/zone': 'z1', 'topology.kubernetes.io/region': 'eu' },
  },
  { id: 'px-b', hostname: 'node-b', mgmtIp: '198.18.0.2' },
  { id: 'px-c', hostname: 'node-c', mgmtIp: '198.18.0.3', status: 'StorageDown' },
];

let sim: RunningSimulator;
let driver: PortworxDriver;
const extraDrivers: PortworxDriver[] = [];

beforeAll(async () => {
  sim = await startSimulator({ nodes, token });
  driver = new PortworxDriver({ endpoint: sim.grpcEndpoint, token, callTimeoutMs: 2_000 });
});
afterAll(async () => {
  await driver.close();
  await sim.stop();
});
beforeEach(() => {
  sim.state.reset();
});
afterEach(async () => {
  await Promise.all(extraDrivers.splice(0).map((d) => d.close()));
});

describe('pxd driver against the simulator', () => {
  it('connects and reports the server version', async () => {
    expect(await driver.version()).toEqual({
      sdkVersion: '0.101.33',
      driver: 'pxd-simulator',
      version: '0.1.0',
      clusterId: 'stork-ts-simulator',
    });
  });

  it('lists nodes with lower-case hostnames, both IPs, statuses and topology', async () => {
    expect(await driver.listNodes()).toEqual([
      {
        id: 'px-a',
        hostname: 'node-a',
        ips: ['198.18.0.1', '198.19.0.1'],
        status: 'Online',
        schedulerNodeName: 'node-a',
        rack: 'r1',
        zone: 'z1',
        region: 'eu',
      },
      { id: 'px-b', hostname: 'node-b', ips: ['198.18.0.2'], status: 'Online' },
      { id: 'px-c', hostname: 'node-c', ips: ['198.18.0.3'], status: 'StorageDown' },
    ]);
  });

  it('inspects one node, and maps an unknown one to DriverNotFoundError', async () => {
    expect(await driver.inspectNode('px-b')).toMatchObject({ id: 'px-b', status: 'Online' });
    const error = await rejection(driver.inspectNode('px-zz'));
    expect(error).toBeInstanceOf(DriverNotFoundError);
    expect(error.message).toBe('pxd: node "px-zz" not found');
    expect(error.cause).toMatchObject({ code: status.NOT_FOUND });
  });

  it('plays quorum loss (serving nodes report NotInQuorum) and an unreachable storage API', async () => {
    sim.state.setNodeStatus('px-b', 'Offline');
    sim.state.setCluster({ quorumLost: true });
    expect((await driver.listNodes()).map((n) => n.status)).toEqual([
      'NotInQuorum',
      'Offline',
      'StorageDown',
    ]);
    sim.state.setCluster({ quorumLost: false, unreachable: true });
    const error = await rejection(driver.listNodes());
    expect(error).toBeInstanceOf(DriverError);
    expect(error.message).toMatch(/unreachable/);
    sim.state.setCluster({ unreachable: false });
    expect((await driver.listNodes()).map((n) => n.status)).toEqual(['Online', 'Offline', 'StorageDown']);
  });

  it('sees status changes made at run time', async () => {
    const statusOf = async (id: string) => (await driver.inspectNode(id)).status;
    sim.state.setNodeStatus('px-a', 'Offline');
    expect(await statusOf('px-a')).toBe('Offline');
    sim.state.setNodeStatus('px-a', 'STATUS_STORAGE_REBALANCE');
    expect(await statusOf('px-a')).toBe('Degraded');
    sim.state.setNodeStatus('px-a', 'STATUS_MAINTENANCE');
    expect(await statusOf('px-a')).toBe('Maintenance');
    // Through the admin API too, as a test outside this process would do it.
    const response = await fetch(`${sim.adminUrl}/nodes/px-b/status`, {
      method: 'PUT',
      body: JSON.stringify({ status: 'Degraded' }),
    });
    expect(response.status).toBe(200);
    expect((await driver.listNodes()).map((n) => n.status)).toEqual([
      'Maintenance',
      'Degraded',
      'StorageDown',
    ]);
  });

  it('lists volumes, clones and snapshots with their replica nodes and parents', async () => {
    const vol = sim.state.createVolume({
      id: 'vol-1',
      name: 'pvc-1',
      sizeBytes: 2 ** 31,
      replicaNodes: ['px-b', 'px-a'],
      labels: { app: 'db' },
    });
    const snap = sim.state.snapshotVolume(vol.id, 'snap-1');
    const clone = sim.state.cloneVolume('clone-1', snap.id);
    expect(await driver.listVolumes()).toEqual([
      {
        id: 'vol-1',
        name: 'pvc-1',
        sizeBytes: 2 ** 31,
        replicaNodeIds: ['px-b', 'px-a'],
        labels: { app: 'db' },
      },
      {
        id: snap.id,
        name: 'snap-1',
        sizeBytes: 2 ** 31,
        replicaNodeIds: ['px-b', 'px-a'],
        labels: {},
        parentId: 'vol-1',
      },
      {
        id: clone.id,
        name: 'clone-1',
        sizeBytes: 2 ** 31,
        replicaNodeIds: ['px-b', 'px-a'],
        labels: {},
        parentId: snap.id,
      },
    ]);
  });

  it('is rejected without the token or with a wrong one, as UNAUTHENTICATED', async () => {
    const anonymous = new PortworxDriver({ endpoint: sim.grpcEndpoint });
    const wrong = new PortworxDriver({ endpoint: sim.grpcEndpoint, token: 'not-it' });
    extraDrivers.push(anonymous, wrong);
    const missing = await rejection(anonymous.listNodes());
    expect(missing).toBeInstanceOf(DriverError);
    expect(missing).not.toBeInstanceOf(DriverNotFoundError);
    expect(missing.message).toBe(
      `pxd: OpenStorageNode/EnumerateWithFilters at ${sim.grpcEndpoint} failed: UNAUTHENTICATED: Access denied: missing authorization bearer token`,
    );
    const bad = await rejection(wrong.inspectNode('px-a'));
    expect(bad.message).toContain('UNAUTHENTICATED: Access denied: invalid token');
    expect(bad.cause).toMatchObject({ code: status.UNAUTHENTICATED });
  });

  it('is created by the registry as pxd', async () => {
    const viaRegistry = createDriver('pxd', { endpoint: sim.grpcEndpoint, token });
    try {
      expect((await viaRegistry.listNodes()).map((n) => n.id)).toEqual(['px-a', 'px-b', 'px-c']);
    } finally {
      await viaRegistry.close();
    }
  });

  it('stops answering when the simulator stops', async () => {
    const other = await startSimulator({ nodes: [{ id: 'x' }] });
    const client = new PortworxDriver({ endpoint: other.grpcEndpoint, callTimeoutMs: 1_000 });
    extraDrivers.push(client);
    expect(await client.listNodes()).toHaveLength(1);
    await other.stop();
    await other.stop(); // idempotent
    const error = await rejection(client.listNodes());
    expect(error).toBeInstanceOf(DriverError);
    expect(error.message).toMatch(/UNAVAILABLE/);
  });
});

describe('snapshots and restores', () => {
  it('creates, finds, inspects, restores and deletes by name, idempotently', async () => {
    const snapshots = driver.snapshots;
    const volume = sim.state.createVolume({
      name: 'data',
      sizeBytes: 2 ** 30,
      replicaNodes: ['px-a', 'px-b'],
    });
    expect(await snapshots.findSnapshot('snapshot-u1')).toBeUndefined();
    const taken = await snapshots.createSnapshot(volume.id, 'snapshot-u1', {
      'kubernetes.io/created-for/snapshot/uid': 'u1',
    });
    expect(taken).toMatchObject({ name: 'snapshot-u1', volumeId: volume.id, ready: true });
    expect(taken.labels['kubernetes.io/created-for/snapshot/uid']).toBe('u1');
    expect(await snapshots.findSnapshot('snapshot-u1')).toEqual(taken);
    expect(await snapshots.inspectSnapshot(taken.id)).toEqual(taken);
    expect(await snapshots.inspectSnapshot('no-such-id')).toBeUndefined();
    await expect(snapshots.inspectSnapshot(volume.id)).rejects.toThrow(/not a snapshot/);
    // A volume is not a snapshot and a snapshot not a volume, even under a matching name.
    expect(await snapshots.findVolume('snapshot-u1')).toBeUndefined();
    expect(await snapshots.findSnapshot('data')).toBeUndefined();

    const restored = await snapshots.restoreSnapshot(taken.id, 'pvc-u2', {});
    expect(restored).toMatchObject({ name: 'pvc-u2', parentId: taken.id });
    expect([...restored.replicaNodeIds].sort()).toEqual(['px-a', 'px-b']);
    expect(await snapshots.findVolume('pvc-u2')).toEqual(restored);
    expect((await snapshots.restoreSnapshot(taken.id, 'pvc-u2', {})).id).toBe(restored.id);

    await snapshots.deleteSnapshot(taken.id);
    await snapshots.deleteSnapshot(taken.id); // gone already: still fine
    await snapshots.deleteVolume(restored.id);
    expect(sim.state.volumes().map((v) => v.id)).toEqual([volume.id]);
  });

  it('maps a snapshot to the data source and back, and a volume to a CSI source', () => {
    const source = driver.snapshots.snapshotDataSource({
      id: '7',
      name: 'n',
      volumeId: '1',
      labels: {},
      ready: true,
    });
    expect(source).toEqual({ portworxVolume: { snapshotId: '7', snapshotType: 'local' } });
    expect(driver.snapshots.snapshotIdOf(source)).toBe('7');
    expect(driver.snapshots.snapshotIdOf({ hostPath: { snapshot: 'x' } })).toBeUndefined();
    expect(driver.snapshots.persistentVolumeSource('9').csi).toMatchObject({
      driver: 'pxd.portworx.com',
      volumeHandle: '9',
    });
  });
});
