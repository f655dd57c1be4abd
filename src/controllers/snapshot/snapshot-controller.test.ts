import type { PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { apiView } from './testing.js';
import { describe, expect, it } from 'vitest';
import type { VolumeDriver } from '../../drivers/driver.js';
import type { DriverVolumeSnapshot, VolumeSnapshots } from '../../drivers/volume-snapshots.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import type { EventRecorder } from '../../k8s/events.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/wait.js';
import { snapshotDataName } from './names.js';
import { SnapshotController } from './snapshot-controller.js';

/** An informer's cache read straight from the fake (the controller's resync finds every object). */
const view = apiView;

/** A storage system that takes every snapshot at once. */
function fakeSnapshots(): VolumeSnapshots & { taken: DriverVolumeSnapshot[] } {
  const taken: DriverVolumeSnapshot[] = [];
  const fake = {
    taken,
    createSnapshot: (volumeId: string, name: string, labels: Readonly<Record<string, string>>) => {
      const snapshot = { id: `sid-${taken.length + 1}`, name, volumeId, labels, ready: true };
      taken.push(snapshot);
      return Promise.resolve(snapshot);
    },
    findSnapshot: (name: string) => Promise.resolve(taken.find((s) => s.name === name)),
    snapshotDataSource: (s: DriverVolumeSnapshot) => ({
      portworxVolume: { snapshotId: s.id, snapshotType: 'local' },
    }),
    snapshotIdOf: (spec: Readonly<Record<string, unknown>>) =>
      (spec.portworxVolume as { snapshotId?: string } | undefined)?.snapshotId,
    deleteSnapshot: () => Promise.resolve(),
  };
  return fake as unknown as VolumeSnapshots & { taken: DriverVolumeSnapshot[] };
}

const driver = {
  name: 'pxd',
  volumeIdOf: (pv: PersistentVolume) => pv.spec?.csi?.volumeHandle,
} as unknown as VolumeDriver;

const claim: PersistentVolumeClaim = {
  metadata: { namespace: 'shop', name: 'data' },
  spec: { volumeName: 'pv-data' },
  status: { phase: 'Bound' },
};
const volume: PersistentVolume = {
  metadata: { name: 'pv-data' },
  spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: 'vol-1' } },
};

function runController(snapshots: VolumeSnapshot[], data: VolumeSnapshotData[] = []) {
  // Both CRDs have a status subresource, as the shipped ones do: status sent with the object is dropped.
  const api = new FakeKubeClient({
    statusSubresources: [resources.volumeSnapshots, resources.volumeSnapshotDatas],
  });
  api.seed(resources.persistentVolumeClaims, claim);
  api.seed(resources.persistentVolumes, volume);
  api.seed(resources.volumeSnapshots, ...snapshots);
  api.seed(resources.volumeSnapshotDatas, ...data);
  const events: { reason: string; message: string }[] = [];
  const recorder = {
    record: (_: unknown, _type: string, reason: string, message: string) => events.push({ reason, message }),
  } as unknown as EventRecorder;
  const storage = fakeSnapshots();
  const controller = new SnapshotController({
    api,
    driver,
    snapshots: storage,
    volumeSnapshots: view(api, resources.volumeSnapshots),
    claims: view(api, resources.persistentVolumeClaims),
    volumes: view(api, resources.persistentVolumes),
    events: recorder,
    logger: silentLogger,
  });
  const stop = new AbortController();
  const running = controller.run(stop.signal);
  return {
    api,
    events,
    storage,
    async settle(name: string, done: (s: VolumeSnapshot) => boolean): Promise<VolumeSnapshot> {
      try {
        return await waitFor(
          `snapshot ${name} settled`,
          () => {
            const s = api.object<VolumeSnapshot>(resources.volumeSnapshots, name, 'shop');
            return s && done(s) ? s : undefined;
          },
          { timeoutMs: 5000, intervalMs: 10 },
        );
      } finally {
        stop.abort();
        await running.catch(() => undefined);
      }
    },
  };
}

const ready = (s: VolumeSnapshot): boolean => s.status?.conditions?.at(-1)?.type === 'Ready';

describe('SnapshotController', () => {
  it('writes every status through the status subresource, and names the data after the UID', async () => {
    const ctx = runController([
      {
        metadata: { namespace: 'shop', name: 'snap', uid: 'u-1' },
        spec: { persistentVolumeClaimName: 'data' },
      },
    ]);
    const snapshot = await ctx.settle('snap', (s) => ready(s) && s.spec.snapshotDataName !== undefined);
    expect(snapshot.spec.snapshotDataName).toBe(snapshotDataName('u-1'));
    const data = ctx.api.object<VolumeSnapshotData>(resources.volumeSnapshotDatas, snapshotDataName('u-1'));
    expect(data?.spec.volumeSnapshotRef).toMatchObject({ namespace: 'shop', name: 'snap', uid: 'u-1' });
    expect(data?.status?.conditions?.at(-1)?.type).toBe('Ready');
    const statusWrites = ctx.api
      .writes({ subresource: 'status' })
      .map((w) => `${w.resource} ${w.name ?? ''}`);
    expect(statusWrites).toEqual([
      'volumesnapshots snap', // Pending
      `volumesnapshotdatas ${snapshotDataName('u-1')}`,
      'volumesnapshots snap', // Ready
    ]);
  });

  it('names the data before it says Ready: no reader ever sees a Ready snapshot without its data name', async () => {
    const ctx = runController([
      {
        metadata: { namespace: 'shop', name: 'snap', uid: 'u-9' },
        spec: { persistentVolumeClaimName: 'data' },
      },
    ]);
    await ctx.settle('snap', (s) => ready(s) && s.spec.snapshotDataName !== undefined);
    const writes = ctx.api
      .writes({})
      .filter((w) => w.resource === 'volumesnapshots' && w.name === 'snap')
      .map((w) => w.subresource ?? 'object');
    // The last object write sets spec.snapshotDataName; the last status write sets Ready.
    expect(writes.lastIndexOf('object')).toBeLessThan(writes.lastIndexOf('status'));
  });

  it("puts back a data name it did not set (another namespace's data), with a Warning", async () => {
    const own = snapshotDataName('u-2');
    const ctx = runController(
      [
        {
          metadata: { namespace: 'shop', name: 'bound', uid: 'u-2' },
          spec: { persistentVolumeClaimName: 'data', snapshotDataName: 'k8s-volume-snapshot-victim' },
          status: { conditions: [{ type: 'Ready', status: 'True' }] },
        },
      ],
      [
        {
          metadata: { name: own },
          spec: {
            portworxVolume: { snapshotId: 'sid-9' },
            volumeSnapshotRef: { kind: 'VolumeSnapshot', namespace: 'shop', name: 'bound', uid: 'u-2' },
          },
          status: { conditions: [{ type: 'Ready', status: 'True' }] },
        },
      ],
    );
    const snapshot = await ctx.settle('bound', (s) => s.spec.snapshotDataName === own);
    expect(ready(snapshot)).toBe(true);
    expect(ctx.events.find((e) => e.reason === 'SnapshotDataNameIgnored')?.message).toContain(
      'k8s-volume-snapshot-victim',
    );
    expect(ctx.storage.taken).toEqual([]);
  });

  it('removes a foreign data name from a snapshot that is not ready, and takes the snapshot as usual', async () => {
    const ctx = runController([
      {
        metadata: { namespace: 'shop', name: 'forged', uid: 'u-3' },
        spec: { persistentVolumeClaimName: 'data', snapshotDataName: 'k8s-volume-snapshot-victim' },
      },
    ]);
    const snapshot = await ctx.settle(
      'forged',
      (s) => ready(s) && s.spec.snapshotDataName === snapshotDataName('u-3'),
    );
    expect(ctx.storage.taken.map((s) => s.name)).toEqual(['snapshot-u-3']);
    expect(ctx.events.some((e) => e.reason === 'SnapshotDataNameIgnored')).toBe(true);
    expect(snapshot.spec.snapshotDataName).toBe(snapshotDataName('u-3'));
  });
});
