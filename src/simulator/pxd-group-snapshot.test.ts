// Integration: the pxd driver's group snapshot against the simulator's REST volume API and SDK over real
// loopback connections, and against a REST server answering what a storage system might (a partial group).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DriverError } from '../drivers/driver.js';
import { GroupSnapshotRefused } from '../drivers/portworx/group-snapshots.js';
import { PortworxDriver } from '../drivers/portworx/portworx-driver.js';
import type { GroupSnapshotCall } from '../drivers/volume-snapshots.js';
import type { SimNodeSpec } from './simulator-state.js';
import { startSimulator, type RunningSimulator } from './simulator.js';
import { rejection } from './testing.js';

const token = 'sim-token';
const nodes: SimNodeSpec[] = [{ id: 'px-a' }, { id: 'px-b' }, { id: 'px-c' }];
const groupLabel = { 'stork.libopenstorage.org/group-snapshot-uid': 'g-1' };

let sim: RunningSimulator;
const drivers: PortworxDriver[] = [];
const servers: Server[] = [];

function driverWith(restEndpoint: string, driverToken = token): PortworxDriver {
  const driver = new PortworxDriver({
    endpoint: sim.grpcEndpoint,
    restEndpoint,
    callTimeoutMs: 2_000,
    token: driverToken,
  });
  drivers.push(driver);
  return driver;
}

function group(driver: PortworxDriver): GroupSnapshotCall {
  const call = driver.snapshots.groupCall();
  if (!call) throw new Error('the driver has no group call');
  return call;
}

const volumes = (n: number): string[] =>
  Array.from(
    { length: n },
    (_, i) => sim.state.createVolume({ name: `vol-${i}`, sizeBytes: 2 ** 30, haLevel: 2 }).id,
  );
const snapshotCount = (): number => sim.state.volumes().filter((v) => v.snapshot).length;

beforeAll(async () => {
  sim = await startSimulator({ nodes, token });
});
afterAll(async () => {
  await sim.stop();
});
beforeEach(() => {
  sim.state.reset();
});
afterEach(async () => {
  await Promise.all(drivers.splice(0).map((d) => d.close()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe('pxd group snapshot (REST volume API)', () => {
  it('is not offered without a REST endpoint', () => {
    const driver = new PortworxDriver({ endpoint: sim.grpcEndpoint, token });
    drivers.push(driver);
    expect(driver.snapshots.groupCall()).toBeUndefined();
  });

  it('cuts every volume in one call and answers one labelled snapshot per volume, in order', async () => {
    const ids = volumes(3);
    const taken = await group(driverWith(sim.restEndpoint)).snapshotGroup(
      [ids[2], ids[0], ids[1]] as string[],
      groupLabel,
    );
    expect(taken.map((s) => s.volumeId)).toEqual([ids[2], ids[0], ids[1]]);
    for (const snapshot of taken) {
      expect(snapshot.labels).toMatchObject(groupLabel);
      expect(snapshot.ready).toBe(true);
    }
    // One call, one point in time: the storage system numbered them as one group.
    const groupNumbers = new Set(taken.map((s) => /\.group-snap-(\d+)$/.exec(s.name)?.[1]));
    expect(groupNumbers.size).toBe(1);
    expect(snapshotCount()).toBe(3);
  });

  it('finds what a group made by its labels, and nothing else', async () => {
    const ids = volumes(2);
    const driver = driverWith(sim.restEndpoint);
    const taken = await group(driver).snapshotGroup(ids, groupLabel);
    await driver.snapshots.createSnapshot(ids[0] ?? '', 'lone', { other: 'x' });
    const found = await group(driver).findLabelled(groupLabel);
    expect(found.map((s) => s.id).sort()).toEqual(taken.map((s) => s.id).sort());
  });

  it.each([
    ['a volume the storage system does not know', (ids: string[]) => [...ids, 'ghost'], /refused \(400\)/],
    ['a volume named twice', (ids: string[]) => [ids[0] ?? '', ids[0] ?? ''], /names a volume twice/],
    ['no volume', () => [], /at least one volume/],
  ])('refuses %s and makes nothing', async (_what, pick, message) => {
    const ids = volumes(2);
    const error = await rejection(group(driverWith(sim.restEndpoint)).snapshotGroup(pick(ids), groupLabel));
    expect(error).toBeInstanceOf(GroupSnapshotRefused);
    expect(error.message).toMatch(message);
    expect(snapshotCount()).toBe(0);
  });

  it('is refused without the token when the cluster is secured', async () => {
    const ids = volumes(1);
    const error = await rejection(
      group(driverWith(sim.restEndpoint, 'wrong')).snapshotGroup(ids, groupLabel),
    );
    expect(error).toBeInstanceOf(GroupSnapshotRefused);
    expect(error.message).toMatch(/401/);
    expect(snapshotCount()).toBe(0);
  });

  it('reports an unreachable storage API as a driver error (retried), not a refusal', async () => {
    const ids = volumes(1);
    sim.state.setCluster({ unreachable: true });
    const error = await rejection(group(driverWith(sim.restEndpoint)).snapshotGroup(ids, groupLabel));
    expect(error).toBeInstanceOf(DriverError);
    expect(error).not.toBeInstanceOf(GroupSnapshotRefused);
  });

  it('deletes what a partly failed group made, whatever the storage system left', async () => {
    const [first = '', second = ''] = volumes(2);
    // A storage system that cut one volume and failed the other (and did not clean up).
    const made = sim.state.snapshotVolume(first, 'half-made', groupLabel).id;
    const rest = await answering({
      snapshots: {
        [first]: { volume_create_response: { id: made, volume_response: {} } },
        [second]: { volume_create_response: { volume_response: { error: 'pool full' } } },
      },
    });
    const error = await rejection(group(driverWith(rest)).snapshotGroup([first, second], groupLabel));
    expect(error).toBeInstanceOf(GroupSnapshotRefused);
    expect(error.message).toMatch(/volume .*: pool full/);
    expect(snapshotCount()).toBe(0);
  });

  it('refuses an answer that leaves a volume out, and deletes the rest', async () => {
    const [first = '', second = ''] = volumes(2);
    const made = sim.state.snapshotVolume(first, 'half-made', groupLabel).id;
    const rest = await answering({
      snapshots: { [first]: { volume_create_response: { id: made, volume_response: {} } } },
    });
    const error = await rejection(group(driverWith(rest)).snapshotGroup([first, second], groupLabel));
    expect(error.message).toMatch(new RegExp(`volume ${second}: not in the answer`));
    expect(snapshotCount()).toBe(0);
  });

  it('treats an answer of the wrong shape as a driver error', async () => {
    const ids = volumes(1);
    const rest = await answering({ snapshots: 'all of them' });
    const error = await rejection(group(driverWith(rest)).snapshotGroup(ids, groupLabel));
    expect(error).toBeInstanceOf(DriverError);
    expect(error.message).toMatch(/unexpected shape/);
  });
});

/** A REST server that answers every request with `body` (200). */
async function answering(body: unknown): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}
