import { describe, expect, it } from 'vitest';
import { DriverCache } from './cache.js';
import type { DriverNode, DriverVolume, VolumeDriver } from './driver.js';

/** A storage system in memory whose answers the test changes between refreshes. */
function fakeDriver() {
  const state = {
    nodes: [{ id: 'n1', hostname: 'n1', ips: [], status: 'Online' }] as DriverNode[],
    volumes: [] as DriverVolume[],
    failWith: undefined as Error | undefined,
    listCalls: 0,
    volumeListCalls: 0,
  };
  const driver: VolumeDriver = {
    name: 'fake',
    csiDriverName: 'fake.csi',
    listNodes: () => {
      state.listCalls++;
      return state.failWith
        ? Promise.reject(state.failWith)
        : Promise.resolve(state.nodes.map((n) => ({ ...n })));
    },
    listVolumes: () => {
      state.volumeListCalls++;
      return Promise.resolve(state.volumes.map((v) => structuredClone(v)));
    },
    inspectNode: () => Promise.reject(new Error('unused')),
    ownsProvisioner: () => false,
    volumeIdOf: () => undefined,
    ownsClaim: () => false,
    close: () => Promise.resolve(),
  };
  return { state, driver };
}

describe('DriverCache', () => {
  it('keeps the same node array across refreshes that change nothing, and replaces it on a change', async () => {
    const { state, driver } = fakeDriver();
    const cache = new DriverCache({ driver, refreshIntervalMs: 60_000 });
    const first = await cache.refresh();
    const second = await cache.refresh();
    expect(second.version).toBeGreaterThan(first.version);
    expect(second.nodes).toBe(first.nodes);
    state.nodes = [{ id: 'n1', hostname: 'n1', ips: [], status: 'Offline' }];
    const third = await cache.refresh();
    expect(third.nodes).not.toBe(first.nodes);
    expect(third.nodesById.get('n1')?.status).toBe('Offline');
  });

  it('keeps every unchanged volume object, and the map itself when nothing changed', async () => {
    const { state, driver } = fakeDriver();
    const volume = (id: string, replicas: string[]): DriverVolume => ({
      id,
      name: id,
      sizeBytes: 1,
      replicaNodeIds: replicas,
      labels: { app: 'db' },
    });
    state.volumes = [volume('v1', ['n1']), volume('v2', ['n1'])];
    const cache = new DriverCache({ driver, refreshIntervalMs: 60_000 });
    const first = await cache.refresh();
    const second = await cache.refresh();
    expect(second.version).toBe(first.version + 1);
    expect(second.nodes).toBe(first.nodes);
    expect(second.volumesById).toBe(first.volumesById);
    expect(second.nodesById).toBe(first.nodesById);

    state.volumes = [volume('v1', ['n1']), volume('v2', ['n2'])];
    const moved = await cache.refresh();
    expect(moved.volumesById).not.toBe(first.volumesById);
    expect(moved.volumesById.get('v1')).toBe(first.volumesById.get('v1'));
    expect(moved.volumesById.get('v2')?.replicaNodeIds).toEqual(['n2']);

    state.volumes = [volume('v1', ['n1'])];
    const removed = await cache.refresh();
    expect(removed.volumesById).not.toBe(moved.volumesById);
    expect([...removed.volumesById.keys()]).toEqual(['v1']);

    state.nodes = [{ id: 'n1', hostname: 'n1', ips: [], status: 'Offline' }];
    const offline = await cache.refresh();
    expect(offline.nodes).not.toBe(removed.nodes);
    expect(offline.nodesById.get('n1')?.status).toBe('Offline');
    expect(offline.volumesById).toBe(removed.volumesById);

    state.failWith = new Error('unreachable');
    const failed = await cache.refresh();
    expect(failed.nodes).toBe(offline.nodes);
    expect(failed.volumesById).toBe(offline.volumesById);
    expect(failed.version).toBe(offline.version + 1);
  });

  it('lists volumes at their own interval in the loop, and at once when an unknown one is asked for', async () => {
    const { state, driver } = fakeDriver();
    let now = 0;
    const cache = new DriverCache({
      driver,
      refreshIntervalMs: 20,
      volumeRefreshIntervalMs: 10_000,
      now: () => now,
    });
    const until = async (what: () => boolean): Promise<void> => {
      const deadline = Date.now() + 2000;
      while (!what() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(what()).toBe(true);
    };
    await cache.start();
    try {
      expect(state.volumeListCalls).toBe(1);
      state.volumes = [{ id: 'v1', name: 'v1', sizeBytes: 1, replicaNodeIds: ['n1'], labels: {} }];
      await until(() => state.listCalls >= 4);
      // Nodes every interval; the volumes' interval has not passed on the injected clock.
      expect(state.volumeListCalls).toBe(1);
      expect(cache.snapshot().volumesById.has('v1')).toBe(false);
      now += 10_000;
      await until(() => cache.snapshot().volumesById.has('v1'));
      expect(state.volumeListCalls).toBe(2);

      state.volumes = [
        ...state.volumes,
        { id: 'v2', name: 'v2', sizeBytes: 1, replicaNodeIds: ['n1'], labels: {} },
      ];
      cache.requestVolume('v2');
      await until(() => cache.snapshot().volumesById.has('v2'));
      expect(state.volumeListCalls).toBe(3);
    } finally {
      cache.stop();
      await cache.stopped();
    }
  });

  it('keeps serving the last good state after a failed refresh, saying why and how old it is', async () => {
    const { state, driver } = fakeDriver();
    const errors: string[] = [];
    const cache = new DriverCache({
      driver,
      refreshIntervalMs: 60_000,
      onError: (e) => errors.push(String(e)),
    });
    const good = await cache.refresh();
    state.failWith = new Error('connection refused');
    const failed = await cache.refresh();
    expect(failed.nodes).toBe(good.nodes);
    expect(failed.refreshedAt).toBe(good.refreshedAt);
    expect(failed.lastError).toBe('connection refused');
    expect(errors.join()).toMatch(/connection refused/);
  });

  it('fetches a requested unknown volume soon, without waiting for the interval', async () => {
    const { state, driver } = fakeDriver();
    const cache = new DriverCache({ driver, refreshIntervalMs: 60_000 });
    await cache.start();
    try {
      state.volumes = [{ id: 'v-new', name: 'v-new', sizeBytes: 1, replicaNodeIds: ['n1'], labels: {} }];
      cache.requestVolume('v-new');
      const deadline = Date.now() + 2000;
      while (!cache.snapshot().volumesById.has('v-new') && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(cache.snapshot().volumesById.has('v-new')).toBe(true);
      expect(state.listCalls).toBe(2);
    } finally {
      cache.stop();
      await cache.stopped();
    }
  });

  it('brings at most one refresh forward per interval, however many unknown volumes are asked for', async () => {
    const { driver, state } = fakeDriver();
    let now = 0;
    const cache = new DriverCache({ driver, refreshIntervalMs: 60_000, now: () => now });
    await cache.start();
    try {
      const settle = () => new Promise((resolve) => setTimeout(resolve, 150));
      cache.requestVolume('ghost-1');
      await settle();
      expect(state.listCalls).toBe(2);
      for (let i = 2; i < 50; i++) cache.requestVolume(`ghost-${i}`);
      await settle();
      expect(state.listCalls).toBe(2);
      now += 60_000;
      // ghost-1 is known absent now: asking again brings nothing forward; an id never listed does.
      cache.requestVolume('ghost-1');
      await settle();
      expect(state.listCalls).toBe(2);
      cache.requestVolume('ghost-new');
      await settle();
      expect(state.listCalls).toBe(3);
    } finally {
      cache.stop();
      await cache.stopped();
    }
  });

  it('knows a requested volume is absent once a complete listing lacked it, until it appears', async () => {
    const { state, driver } = fakeDriver();
    const cache = new DriverCache({ driver, refreshIntervalMs: 60_000 });
    await cache.refresh();
    cache.requestVolume('v-gone');
    // Asked for but not listed yet: unknown, not absent.
    expect(cache.snapshot().absentVolumeIds?.has('v-gone') ?? false).toBe(false);
    await cache.refresh();
    expect(cache.snapshot().absentVolumeIds?.has('v-gone')).toBe(true);
    // Still absent on later refreshes without being asked again, and a failed refresh changes nothing.
    await cache.refresh();
    state.failWith = new Error('unreachable');
    await cache.refresh();
    expect(cache.snapshot().absentVolumeIds?.has('v-gone')).toBe(true);
    state.failWith = undefined;
    state.volumes = [{ id: 'v-gone', name: 'v-gone', sizeBytes: 1, replicaNodeIds: ['n1'], labels: {} }];
    await cache.refresh();
    expect(cache.snapshot().absentVolumeIds?.has('v-gone')).toBe(false);
    expect(cache.snapshot().volumesById.has('v-gone')).toBe(true);
  });

  it('remembers at most 1000 absent volumes, the latest asked for', async () => {
    const { driver } = fakeDriver();
    const cache = new DriverCache({ driver, refreshIntervalMs: 60_000 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 1000; i++) cache.requestVolume(`ghost-${round}-${i}`);
      await cache.refresh();
    }
    const absent = cache.snapshot().absentVolumeIds;
    expect(absent?.size).toBe(1000);
    expect(absent?.has('ghost-2-999')).toBe(true);
    expect(absent?.has('ghost-0-0')).toBe(false);
  });

  it('tells subscribers about every refresh, failed ones too, until they unsubscribe', async () => {
    const { state, driver } = fakeDriver();
    const errors: string[] = [];
    const cache = new DriverCache({ driver, refreshIntervalMs: 60_000, onError: (_e, c) => errors.push(c) });
    const seen: (string | undefined)[] = [];
    const unsubscribe = cache.subscribe((s) => seen.push(s.nodes[0]?.status));
    cache.subscribe(() => {
      throw new Error('a broken listener');
    });
    await cache.refresh();
    state.nodes = [{ id: 'n1', hostname: 'n1', ips: [], status: 'Offline' }];
    await cache.refresh();
    state.failWith = new Error('unreachable');
    await cache.refresh();
    unsubscribe();
    await cache.refresh();
    expect(seen).toEqual(['Online', 'Offline', 'Offline']);
    expect(errors.filter((c) => c.includes('listener'))).toHaveLength(4);
  });
});
