import { describe, expect, it } from 'vitest';
import type { DriverVolumeSnapshot, VolumeSnapshots } from './volume-snapshots.js';
import { routedSnapshots } from './routed-snapshots.js';

/** A member that records the calls it gets; `csi` members claim their volumes and `csi:` ids. */
function member(name: string, csi: boolean) {
  const calls: string[] = [];
  const snap = (id: string): DriverVolumeSnapshot => ({
    id,
    name: id,
    volumeId: '',
    labels: {},
    ready: true,
  });
  const m: VolumeSnapshots = {
    createSnapshot: (volumeId) => {
      calls.push(`create ${volumeId}`);
      return Promise.resolve(snap(`${csi ? 'csi:' : ''}${volumeId}`));
    },
    findSnapshot: (n) => Promise.resolve(n === `${name}-snap` ? snap(n) : undefined),
    inspectSnapshot: (id) => {
      calls.push(`inspect ${id}`);
      return Promise.resolve(undefined);
    },
    deleteSnapshot: (id) => {
      calls.push(`delete ${id}`);
      return Promise.resolve();
    },
    restoreSnapshot: (id) => {
      calls.push(`restore ${id}`);
      return Promise.reject(new Error('no'));
    },
    findVolume: () => Promise.resolve(undefined),
    deleteVolume: (id) => {
      calls.push(`deleteVolume ${id}`);
      return Promise.resolve();
    },
    persistentVolumeSource: () => ({}),
    snapshotDataSource: () => ({ [name]: true }),
    snapshotIdOf: (spec) => (spec[name] === true ? `${name}-id` : undefined),
    ...(csi
      ? {
          ownsVolume: (id: string) => id.startsWith('h-'),
          ownsSnapshotId: (id: string) => id.startsWith('csi:'),
        }
      : {}),
  };
  return { m, calls };
}

describe('routedSnapshots (pxd,csi)', () => {
  it('sends each volume and snapshot id to the member that owns it, the rest to pxd', async () => {
    const pxd = member('pxd', false);
    const csi = member('csi', true);
    const routed = routedSnapshots([pxd.m, csi.m]);
    await routed.createSnapshot('h-1', 'n', {});
    await routed.createSnapshot('763613271174793816', 'n', {});
    await routed.deleteSnapshot('csi:shop/snapshot-u', undefined);
    await routed.deleteSnapshot('42', undefined);
    await routed.inspectSnapshot('csi:shop/snapshot-u');
    await routed.deleteVolume('h-2');
    expect(csi.calls).toEqual([
      'create h-1',
      'delete csi:shop/snapshot-u',
      'inspect csi:shop/snapshot-u',
      'deleteVolume h-2',
    ]);
    expect(pxd.calls).toEqual(['create 763613271174793816', 'delete 42']);
  });

  it('finds by name in every member and reads any member’s data source', async () => {
    const routed = routedSnapshots([member('pxd', false).m, member('csi', true).m]);
    expect((await routed.findSnapshot('csi-snap'))?.id).toBe('csi-snap');
    expect((await routed.findSnapshot('pxd-snap'))?.id).toBe('pxd-snap');
    expect(await routed.findSnapshot('none')).toBeUndefined();
    expect(routed.snapshotIdOf({ csi: true })).toBe('csi-id');
    expect(routed.snapshotIdOf({ pxd: true })).toBe('pxd-id');
    expect(
      routed.snapshotDataSource({ id: 'csi:a/b', name: 'b', volumeId: '', labels: {}, ready: true }),
    ).toEqual({
      csi: true,
    });
  });
});
