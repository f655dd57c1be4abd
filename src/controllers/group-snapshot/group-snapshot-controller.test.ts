// Table-driven cases of the GroupVolumeSnapshot controller over the fake API server and an in-memory
// storage system (the snapshot controllers' framework, testing.ts), with the single-snapshot controller
// running beside it as in the daemon.
import type { PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { DriverError, DriverNotFoundError } from '../../drivers/driver.js';
import type { GroupSnapshotCall } from '../../drivers/volume-snapshots.js';
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import { Informer } from '../../k8s/informer.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { SnapshotHookError, type SnapshotHooks } from '../snapshot/hooks.js';
import {
  createdForLabels,
  currentCondition,
  snapshotDataName,
  snapshotFinalizer,
} from '../snapshot/names.js';
import { SnapshotController } from '../snapshot/snapshot-controller.js';
import { FakeStorage, runUntilSettled, type World } from '../snapshot/testing.js';
import { GroupSnapshotController } from './group-snapshot-controller.js';
import { groupSnapshotFinalizer, groupSnapshotUidLabel, memberDriverSnapshotName } from './names.js';

const claim = (name: string, labels: Record<string, string>, namespace = 'shop'): PersistentVolumeClaim => ({
  metadata: { namespace, name, uid: `uid-${namespace}-${name}`, labels },
  spec: { volumeName: `pv-${namespace}-${name}` },
  status: { phase: 'Bound' },
});
const volume = (namespace: string, name: string): PersistentVolume => ({
  metadata: { name: `pv-${namespace}-${name}` },
  spec: { csi: { driver: 'pxd.portworx.com', volumeHandle: `vol-${namespace}-${name}` } },
});
const app = { app: 'db' };
const threeClaims: World = {
  claims: [
    claim('a', app),
    claim('b', app),
    claim('c', app),
    claim('other', { app: 'web' }),
    // Same labels, another namespace: never part of the group.
    claim('a', app, 'elsewhere'),
  ],
  volumes: [
    volume('shop', 'a'),
    volume('shop', 'b'),
    volume('shop', 'c'),
    volume('shop', 'other'),
    volume('elsewhere', 'a'),
  ],
};
const groupOf = (
  spec: Partial<GroupVolumeSnapshot['spec']> = {},
  extra: Partial<GroupVolumeSnapshot> = {},
): GroupVolumeSnapshot => ({
  metadata: { namespace: 'shop', name: 'db-group', uid: 'g1' },
  spec: { pvcSelector: { matchLabels: app }, preExecRule: 'freeze', postExecRule: 'thaw', ...spec },
  ...extra,
});

/** Rules that write into the storage log, so that the order of rules and snapshots can be read there. */
function loggingHooks(storage: FakeStorage, failPre?: string): SnapshotHooks {
  return {
    recover: () => Promise.resolve(),
    beforeSnapshot: (subject, claims) => {
      if (failPre) return Promise.reject(new SnapshotHookError(failPre));
      storage.log.push(`pre ${subject.spec?.preExecRule ?? ''} on ${claims.join(',')} (hold)`);
      return Promise.resolve({
        afterSnapshot: (ok: boolean) => {
          storage.log.push(`release; post ${ok ? 'runs' : 'skipped'}`);
          return Promise.resolve();
        },
      });
    },
  };
}

/** A storage system that cannot snapshot some volumes (the volume is gone on its side). */
class FailingStorage extends FakeStorage {
  constructor(private readonly failing: ReadonlySet<string>) {
    super();
  }
  override createSnapshot(volumeId: string, name: string, labels: Readonly<Record<string, string>>) {
    if (this.failing.has(volumeId)) {
      this.log.push(`snapshot ${volumeId} fails`);
      return Promise.reject(new DriverNotFoundError('pxd', `volume ${volumeId}`));
    }
    return super.createSnapshot(volumeId, name, labels);
  }
}

/** One that can discard a snapshot with everything of it (as the CSI driver does), and says so. */
class DiscardingStorage extends FailingStorage {
  discardSnapshot(id: string) {
    this.log.push(`discard snapshot ${id}`);
    this.snapshots.delete(id);
    return Promise.resolve();
  }
}

/** A storage system whose snapshots are cut but never done. */
class NotReadyStorage extends FakeStorage {
  override async createSnapshot(volumeId: string, name: string, labels: Readonly<Record<string, string>>) {
    const taken = await super.createSnapshot(volumeId, name, labels);
    return this.addSnapshot({ ...taken, ready: false });
  }
}

/** A storage system that cannot answer for one volume's first snapshot (and snapshots it the next time). */
class FlakyStorage extends FakeStorage {
  private failed = false;
  constructor(private readonly flaky: string) {
    super();
  }
  override createSnapshot(volumeId: string, name: string, labels: Readonly<Record<string, string>>) {
    if (volumeId === this.flaky && !this.failed) {
      this.failed = true;
      this.log.push(`snapshot ${volumeId} cannot be taken now`);
      return Promise.reject(new DriverError('pxd', 'connection refused'));
    }
    return super.createSnapshot(volumeId, name, labels);
  }
}

/**
 * A storage system with its own group snapshot (as Portworx's REST call): one call cuts every volume, names
 * the snapshots itself (`<volume>.group-<n>`) and labels them. `refuse` makes a call fail for good;
 * `loseAnswers` calls cut the snapshots and then fail as if the answer was lost on the way.
 */
class GroupCallStorage extends FakeStorage {
  calls = 0;
  constructor(private readonly faults: { refuse?: string; loseAnswers?: number } = {}) {
    super();
  }
  groupCall(): GroupSnapshotCall {
    return {
      snapshotGroup: (volumeIds, labels) => {
        this.calls += 1;
        this.log.push(`group snapshot ${volumeIds.join(',')}`);
        if (this.faults.refuse) return Promise.reject(new Error(this.faults.refuse));
        const made = volumeIds.map((volumeId) =>
          this.addSnapshot({
            id: `gsnap-${this.calls}-${volumeId}`,
            name: `${volumeId}.group-${this.calls}`,
            volumeId,
            labels,
          }),
        );
        if (this.calls <= (this.faults.loseAnswers ?? 0))
          return Promise.reject(new DriverError('pxd', 'connection reset before the answer'));
        return Promise.resolve(made);
      },
      findLabelled: (labels) =>
        Promise.resolve(
          [...this.snapshots.values()].filter((s) =>
            Object.entries(labels).every(([key, value]) => s.labels[key] === value),
          ),
        ),
    };
  }
}

const groupLabels = (uid = 'g1') => ({
  [createdForLabels.namespace]: 'shop',
  [createdForLabels.name]: 'db-group',
  [createdForLabels.uid]: uid,
});

const fakeApi = () =>
  new FakeKubeClient({
    statusSubresources: [
      resources.volumeSnapshots,
      resources.volumeSnapshotDatas,
      resources.groupVolumeSnapshots,
    ],
  });

async function run(
  world: World,
  groups: readonly GroupVolumeSnapshot[],
  storage: FakeStorage,
  options: { hooks?: SnapshotHooks; api?: FakeKubeClient; retryDelayMs?: number } = {},
) {
  const api = options.api ?? fakeApi();
  api.seed(resources.groupVolumeSnapshots, ...groups);
  const result = await runUntilSettled(api, world, storage, (deps) => {
    const informer = new Informer<GroupVolumeSnapshot>({ api, type: resources.groupVolumeSnapshots });
    const controller = new GroupSnapshotController({
      ...deps,
      groups: informer,
      hooks: options.hooks ?? loggingHooks(storage),
      pollIntervalMs: 10,
      resyncIntervalMs: 50,
      retryDelayMs: options.retryDelayMs ?? 10,
      waitForClaimsMs: 20,
    });
    return [
      new SnapshotController({ ...deps, pollIntervalMs: 10, resyncIntervalMs: 50 }),
      {
        run: async (signal: AbortSignal) => {
          await informer.start(signal);
          try {
            await controller.run(signal);
          } finally {
            informer.stop();
            await informer.stopped();
          }
        },
      },
    ];
  });
  const group = (name = 'db-group') =>
    api.object<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, name, 'shop');
  const members = () =>
    api
      .objects<VolumeSnapshot>(resources.volumeSnapshots)
      .filter((s) => s.metadata.labels?.[groupSnapshotUidLabel]);
  return { ...result, group, members };
}

const driverName = (claimName: string, namespace = 'shop') =>
  memberDriverSnapshotName('g1', `uid-${namespace}-${claimName}`);

describe('GroupSnapshotController', () => {
  it('snapshots every claim its selector picks in its namespace, all while the pre rule holds, then makes the members', async () => {
    const storage = new FakeStorage();
    const result = await run(threeClaims, [groupOf({ restoreNamespaces: ['restore-.*'] })], storage);
    const group = result.group();
    expect(`${group?.status?.stage ?? ''}/${group?.status?.status ?? ''}`).toBe('Final/Successful');
    expect(group?.metadata.finalizers).toContain(groupSnapshotFinalizer);
    expect(storage.log).toEqual([
      'pre freeze on a,b,c (hold)',
      `snapshot vol-shop-a as ${driverName('a')}`,
      `snapshot vol-shop-b as ${driverName('b')}`,
      `snapshot vol-shop-c as ${driverName('c')}`,
      'release; post runs',
    ]);
    const members = result
      .members()
      .sort((x, y) => (x.metadata.name ?? '').localeCompare(y.metadata.name ?? ''));
    expect(members.map((m) => m.metadata.name)).toEqual(['db-group-a-g1', 'db-group-b-g1', 'db-group-c-g1']);
    for (const member of members) {
      expect(currentCondition(member.status?.conditions)?.type).toBe('Ready');
      expect(member.spec.snapshotDataName).toBe(snapshotDataName(member.metadata.uid ?? ''));
      expect(result.data(member.spec.snapshotDataName ?? '')?.spec.volumeSnapshotRef?.uid).toBe(
        member.metadata.uid,
      );
      expect(member.metadata.finalizers).toEqual([snapshotFinalizer]);
      expect(member.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'GroupVolumeSnapshot', uid: 'g1' });
      expect(member.metadata.annotations?.['stork/snapshot-restore-namespaces']).toBe('restore-.*');
    }
    expect(
      group?.status?.volumeSnapshots?.map((v) => [
        v.VolumeSnapshotName,
        v.ParentVolumeID,
        v.Conditions?.[0]?.type,
      ]),
    ).toEqual([
      ['db-group-a-g1', 'vol-shop-a', 'Ready'],
      ['db-group-b-g1', 'vol-shop-b', 'Ready'],
      ['db-group-c-g1', 'vol-shop-c', 'Ready'],
    ]);
    expect(result.events.map((e) => `${e.object} ${e.reason}`)).toContain(
      'GroupVolumeSnapshot shop/db-group GroupSnapshotSuccessful',
    );
  });

  it('a claim the storage system cannot snapshot fails the group with the cause and leaves no snapshot behind', async () => {
    const storage = new FailingStorage(new Set(['vol-shop-b']));
    const result = await run(threeClaims, [groupOf()], storage);
    const group = result.group();
    expect(`${group?.status?.stage ?? ''}/${group?.status?.status ?? ''}`).toBe('Final/Failed');
    const last = currentCondition(group?.status?.conditions ?? []);
    expect(`${last?.type ?? ''}: ${last?.message ?? ''}`).toBe(
      'Error: group snapshot failed due to err: claim b: pxd: volume vol-shop-b not found',
    );
    expect(storage.snapshots.size).toBe(0);
    expect(result.members()).toEqual([]);
    expect(storage.log).toContain('release; post skipped');
    expect(storage.log).not.toContain('release; post runs');
  });

  it('the snapshots of a failed attempt are discarded (whatever a deletion policy says), not merely deleted', async () => {
    const storage = new DiscardingStorage(new Set(['vol-shop-c']));
    const result = await run(threeClaims, [groupOf()], storage);
    expect(result.group()?.status?.status).toBe('Failed');
    expect(storage.log.filter((l) => l.startsWith('discard snapshot'))).toHaveLength(2);
    expect(storage.log.filter((l) => l.startsWith('delete snapshot'))).toEqual([]);
    expect(storage.snapshots.size).toBe(0);
  });

  it('maxRetries: a failing group is taken again that many times, then Failed', async () => {
    const storage = new FailingStorage(new Set(['vol-shop-b']));
    const result = await run(threeClaims, [groupOf({ maxRetries: 2 })], storage);
    const group = result.group();
    expect(`${group?.status?.stage ?? ''}/${group?.status?.status ?? ''}`).toBe('Final/Failed');
    expect(group?.status?.numRetries).toBe(2);
    expect(storage.log.filter((l) => l === 'snapshot vol-shop-b fails')).toHaveLength(3);
    expect(storage.snapshots.size).toBe(0);
  });

  it('a retry waits its delay: until then the group is Pending with the count and the cause', async () => {
    const storage = new FailingStorage(new Set(['vol-shop-b']));
    const result = await run(threeClaims, [groupOf({ maxRetries: 2 })], storage, { retryDelayMs: 60_000 });
    const group = result.group();
    expect(`${group?.status?.stage ?? ''}/${group?.status?.status ?? ''}`).toBe('PreChecks/Pending');
    expect(group?.status?.numRetries).toBe(1);
    expect(currentCondition(group?.status?.conditions ?? [])?.message).toBe(
      'retry 1 of 2 after: group snapshot failed due to err: claim b: pxd: volume vol-shop-b not found',
    );
    expect(storage.log.filter((l) => l === 'snapshot vol-shop-b fails')).toHaveLength(1);
    expect(storage.snapshots.size).toBe(0);
  });

  it('a pre rule that fails stops the group before any snapshot', async () => {
    const storage = new FakeStorage();
    const result = await run(threeClaims, [groupOf()], storage, {
      hooks: loggingHooks(storage, 'failed to run pre-snap rule due to: boom'),
    });
    const last = currentCondition(result.group()?.status?.conditions ?? []);
    expect(last?.message).toBe('group snapshot failed due to err: failed to run pre-snap rule due to: boom');
    expect(storage.log).toEqual([]);
  });

  it('an unbound claim fails the prechecks: nothing runs', async () => {
    const pending: PersistentVolumeClaim = { ...claim('p', app), spec: {}, status: { phase: 'Pending' } };
    const storage = new FakeStorage();
    const result = await run(
      { ...threeClaims, claims: [...(threeClaims.claims ?? []), pending] },
      [groupOf()],
      storage,
    );
    expect(currentCondition(result.group()?.status?.conditions ?? [])?.message).toBe(
      'group snapshot failed due to err: PersistentVolumeClaim shop/p is not bound to a volume',
    );
    expect(storage.log).toEqual([]);
  });

  it('an empty selector is refused (it would take every claim)', async () => {
    const storage = new FakeStorage();
    const result = await run(threeClaims, [groupOf({ pvcSelector: {} })], storage);
    expect(result.group()?.status?.status).toBe('Failed');
    expect(currentCondition(result.group()?.status?.conditions ?? [])?.message).toMatch(
      /pvcSelector must have/,
    );
    expect(storage.log).toEqual([]);
  });

  it('no claim matching yet: Pending in PreChecks, nothing taken', async () => {
    const storage = new FakeStorage();
    const result = await run(
      threeClaims,
      [groupOf({ pvcSelector: { matchLabels: { app: 'none' } } })],
      storage,
    );
    expect(`${result.group()?.status?.stage ?? ''}/${result.group()?.status?.status ?? ''}`).toBe(
      'PreChecks/Pending',
    );
    expect(storage.log).toEqual([]);
  });

  it('matchExpressions select claims too', async () => {
    const storage = new FakeStorage();
    const selector = { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] };
    const result = await run(threeClaims, [groupOf({ pvcSelector: selector })], storage);
    expect(result.group()?.status?.status).toBe('Successful');
    expect(result.members().map((m) => m.spec.persistentVolumeClaimName)).toEqual(['other']);
  });

  it('restart after the snapshots were cut (PostSnapshot): adopts them, takes none again', async () => {
    const storage = new FakeStorage();
    const names = ['a', 'b', 'c'];
    for (const n of names)
      storage.addSnapshot({ id: `sid-${n}`, name: driverName(n), volumeId: `vol-shop-${n}` });
    const status = {
      stage: 'PostSnapshot' as const,
      status: 'InProgress' as const,
      volumeSnapshots: names.map((n) => ({
        VolumeSnapshotName: `db-group-${n}-g1`,
        TaskID: driverName(n),
        ParentVolumeID: `vol-shop-${n}`,
      })),
    };
    const result = await run(threeClaims, [groupOf({}, { status })], storage);
    expect(result.group()?.status?.status).toBe('Successful');
    expect(storage.log).toEqual([]);
    expect(result.members()).toHaveLength(3);
  });

  it('restart in the middle of the hold (Snapshot): what was cut is discarded and the group taken again in one hold', async () => {
    const storage = new FakeStorage();
    storage.addSnapshot({ id: 'sid-a', name: driverName('a'), volumeId: 'vol-shop-a' });
    const status = { stage: 'Snapshot' as const, status: 'InProgress' as const };
    const result = await run(threeClaims, [groupOf({}, { status })], storage);
    expect(result.group()?.status?.status).toBe('Successful');
    expect(storage.log.slice(0, 2)).toEqual(['delete snapshot sid-a', 'pre freeze on a,b,c (hold)']);
    expect(storage.snapshots.size).toBe(3);
  });

  it('deleting the group deletes its members, their data and their storage snapshots', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const first = await run(threeClaims, [groupOf()], storage, { api });
    const dataNames = first.members().map((m) => m.spec.snapshotDataName ?? '');
    expect(storage.snapshots.size).toBe(3);
    await api.delete(resources.groupVolumeSnapshots, { namespace: 'shop', name: 'db-group' });
    const second = await run({}, [], storage, { api });
    expect(second.group()).toBeUndefined();
    expect(second.members()).toEqual([]);
    for (const name of dataNames) expect(second.data(name)).toBeUndefined();
    expect(storage.snapshots.size).toBe(0);
  });

  it('a VolumeSnapshot of the member name that is not the group’s is never adopted', async () => {
    const storage = new FakeStorage();
    const foreign: VolumeSnapshot = {
      metadata: { namespace: 'shop', name: 'db-group-a-g1', uid: 'someone' },
      spec: { persistentVolumeClaimName: 'a' },
    };
    const result = await run({ ...threeClaims, volumeSnapshots: [foreign] }, [groupOf()], storage);
    expect(currentCondition(result.group()?.status?.conditions ?? [])?.message).toBe(
      "group snapshot failed due to err: VolumeSnapshot shop/db-group-a-g1 exists and is not this group's",
    );
    // The group's own storage snapshots are gone again; the foreign VolumeSnapshot is left as it was.
    expect([...storage.snapshots.values()].filter((s) => s.name.startsWith('group-snapshot-'))).toEqual([]);
    expect(result.snapshot('shop', 'db-group-a-g1')?.metadata.uid).toBe('someone');
  });

  it('a member VolumeSnapshot is left to its group: the single-snapshot controller takes no snapshot of it', async () => {
    const storage = new FakeStorage();
    const member: VolumeSnapshot = {
      metadata: {
        namespace: 'shop',
        name: 'db-group-a-g9',
        uid: 'm1',
        labels: { [groupSnapshotUidLabel]: 'g9' },
        ownerReferences: [
          {
            apiVersion: 'stork.libopenstorage.org/v1alpha1',
            kind: 'GroupVolumeSnapshot',
            name: 'db-group',
            uid: 'g9',
          },
        ],
      },
      spec: { persistentVolumeClaimName: 'a' },
    };
    const result = await run({ ...threeClaims, volumeSnapshots: [member] }, [], storage);
    expect(storage.log).toEqual([]);
    expect(result.snapshot('shop', 'db-group-a-g9')?.status).toBeUndefined();
  });

  it('snapshots cut but not done yet: the group waits in PostSnapshot and makes no member', async () => {
    const storage = new NotReadyStorage();
    const result = await run(threeClaims, [groupOf()], storage);
    expect(`${result.group()?.status?.stage ?? ''}/${result.group()?.status?.status ?? ''}`).toBe(
      'PostSnapshot/InProgress',
    );
    expect(result.members()).toEqual([]);
    expect(storage.snapshots.size).toBe(3);
  });
});

describe('GroupSnapshotController with the storage system’s group snapshot (one call)', () => {
  const ids = 'vol-shop-a,vol-shop-b,vol-shop-c';

  it('cuts every claim in one call while the pre rule holds; the storage system’s names are recorded', async () => {
    const storage = new GroupCallStorage();
    const result = await run(threeClaims, [groupOf()], storage);
    const group = result.group();
    expect(`${group?.status?.stage ?? ''}/${group?.status?.status ?? ''}`).toBe('Final/Successful');
    expect(storage.log).toEqual([
      'pre freeze on a,b,c (hold)',
      `group snapshot ${ids}`,
      'release; post runs',
    ]);
    expect(group?.status?.volumeSnapshots?.map((v) => [v.VolumeSnapshotName, v.TaskID])).toEqual([
      ['db-group-a-g1', 'vol-shop-a.group-1'],
      ['db-group-b-g1', 'vol-shop-b.group-1'],
      ['db-group-c-g1', 'vol-shop-c.group-1'],
    ]);
    for (const snapshot of storage.snapshots.values()) expect(snapshot.labels).toEqual(groupLabels());
    expect(result.members().map((m) => currentCondition(m.status?.conditions)?.type)).toEqual([
      'Ready',
      'Ready',
      'Ready',
    ]);
    expect(result.events.map((e) => e.message)).toContain(
      '3 snapshot(s) cut by the storage system in one group snapshot: a, b, c',
    );
  });

  it('a call the storage system refuses fails the group with its cause; the post rule is skipped', async () => {
    const storage = new GroupCallStorage({ refuse: 'Operation not supported' });
    const result = await run(threeClaims, [groupOf()], storage);
    const group = result.group();
    expect(`${group?.status?.stage ?? ''}/${group?.status?.status ?? ''}`).toBe('Final/Failed');
    expect(currentCondition(group?.status?.conditions ?? [])?.message).toBe(
      'group snapshot failed due to err: Operation not supported',
    );
    expect(storage.log).toContain('release; post skipped');
    expect(storage.snapshots.size).toBe(0);
  });

  it('a call whose answer was lost: what it cut is found by the group’s labels and discarded, then taken again', async () => {
    const storage = new GroupCallStorage({ loseAnswers: 1 });
    const result = await run(threeClaims, [groupOf()], storage);
    expect(result.group()?.status?.status).toBe('Successful');
    expect(storage.calls).toBe(2);
    expect([...storage.snapshots.keys()].sort()).toEqual([
      'gsnap-2-vol-shop-a',
      'gsnap-2-vol-shop-b',
      'gsnap-2-vol-shop-c',
    ]);
    expect(result.events.map((e) => e.reason)).toContain('GroupSnapshotRetrying');
  });

  it('restart during the call (Snapshot, nothing recorded): the interrupted call’s snapshots go, the group is cut again', async () => {
    const storage = new GroupCallStorage();
    for (const n of ['a', 'b'])
      storage.addSnapshot({
        id: `old-${n}`,
        name: `vol-shop-${n}.group-0`,
        volumeId: `vol-shop-${n}`,
        labels: groupLabels(),
      });
    // Another group's snapshot, with the same namespace label: never this group's to discard.
    storage.addSnapshot({
      id: 'theirs',
      name: 'vol-shop-a.group-9',
      volumeId: 'vol-shop-a',
      labels: groupLabels('g2'),
    });
    const status = { stage: 'Snapshot' as const, status: 'InProgress' as const };
    const result = await run(threeClaims, [groupOf({}, { status })], storage);
    expect(result.group()?.status?.status).toBe('Successful');
    expect(storage.log.slice(0, 3)).toEqual([
      'delete snapshot old-a',
      'delete snapshot old-b',
      'pre freeze on a,b,c (hold)',
    ]);
    expect(storage.calls).toBe(1);
    expect(storage.snapshots.has('theirs')).toBe(true);
    expect(storage.snapshots.size).toBe(4);
  });

  it('a post rule that fails after the call leaves no snapshot of the group', async () => {
    const storage = new GroupCallStorage();
    const hooks: SnapshotHooks = {
      recover: () => Promise.resolve(),
      beforeSnapshot: () =>
        Promise.resolve({
          afterSnapshot: () =>
            Promise.reject(new SnapshotHookError('failed to run post-snap rule due to: boom')),
        }),
    };
    const result = await run(threeClaims, [groupOf()], storage, { hooks });
    expect(result.group()?.status?.status).toBe('Failed');
    expect(storage.calls).toBe(1);
    expect(storage.snapshots.size).toBe(0);
    expect(result.members()).toEqual([]);
  });

  it('deleting a group cut in one call deletes its storage snapshots', async () => {
    const storage = new GroupCallStorage();
    const api = fakeApi();
    await run(threeClaims, [groupOf()], storage, { api });
    expect(storage.snapshots.size).toBe(3);
    await api.delete(resources.groupVolumeSnapshots, { namespace: 'shop', name: 'db-group' });
    const second = await run({}, [], storage, { api });
    expect(second.group()).toBeUndefined();
    expect(storage.snapshots.size).toBe(0);
  });
});

describe('GroupSnapshotController: a post rule due when stork stopped', () => {
  const recordKey = 'stork.libopenstorage.org/snapshot-rules-in-flight';
  /** loggingHooks that can also run the post rule alone, as the rules engine can. */
  function restartingHooks(
    storage: FakeStorage,
    api: FakeKubeClient,
    failAfterRestart?: string,
  ): SnapshotHooks {
    const base = loggingHooks(storage);
    return {
      ...base,
      beforeSnapshot: async (subject, claims, signal) => {
        const after = await base.beforeSnapshot(subject, claims, signal);
        return {
          afterSnapshot: (ok, s) => {
            const now = api.object<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, 'db-group', 'shop');
            storage.log.push(`record while post runs: ${now?.metadata.annotations?.[recordKey] ?? 'none'}`);
            return after.afterSnapshot(ok, s);
          },
        };
      },
      afterRestart: (_subject, claims, _signal, point = 'cut') => {
        storage.log.push(
          point === 'cut'
            ? `post after restart on ${claims.join(',')}`
            : `post undoes the pre rule on ${claims.join(',')}`,
        );
        return failAfterRestart ? Promise.reject(new SnapshotHookError(failAfterRestart)) : Promise.resolve();
      },
    };
  }
  const withRecord = (value: string) =>
    groupOf(
      {},
      {
        metadata: { namespace: 'shop', name: 'db-group', uid: 'g1', annotations: { [recordKey]: value } },
        status: { stage: 'Snapshot', status: 'InProgress' },
      },
    );

  it('records the cut while the post rule runs, and removes the record after it', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const result = await run(threeClaims, [groupOf()], storage, {
      api,
      hooks: restartingHooks(storage, api),
    });
    expect(result.group()?.status?.status).toBe('Successful');
    expect(storage.log).toContain('record while post runs: {"pre":"done","cut":true}');
    expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
  });

  it('a group cut by a stork that stopped before its post rule: the post rule runs once, then the group is taken again', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const result = await run(threeClaims, [withRecord('{"pre":"done","cut":true}')], storage, {
      api,
      hooks: restartingHooks(storage, api),
    });
    expect(result.group()?.status?.status).toBe('Successful');
    expect(storage.log[0]).toBe('post after restart on a,b,c');
    expect(storage.log.filter((l) => l.startsWith('post after restart'))).toHaveLength(1);
    expect(storage.log).toContain('pre freeze on a,b,c (hold)');
    expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
    expect(result.events.map((e) => e.reason)).toContain('PostRuleAfterRestart');
  });

  it('a record stork did not write is removed with a Warning and runs nothing', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const result = await run(threeClaims, [withRecord('{"cut":"yes please"}')], storage, {
      api,
      hooks: restartingHooks(storage, api),
    });
    expect(storage.log.filter((l) => l.startsWith('post after restart'))).toEqual([]);
    expect(result.events.map((e) => e.reason)).toContain('RulesInFlightIgnored');
    expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
    expect(result.group()?.status?.status).toBe('Successful');
  });

  it('a post rule that fails after the restart fails the group with its cause, leaving nothing', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const result = await run(threeClaims, [withRecord('{"pre":"done","cut":true}')], storage, {
      api,
      hooks: restartingHooks(storage, api, 'failed to run post-snap rule due to: thaw failed'),
    });
    expect(result.group()?.status?.status).toBe('Failed');
    expect(currentCondition(result.group()?.status?.conditions ?? [])?.message).toBe(
      'group snapshot failed due to err: failed to run post-snap rule due to: thaw failed',
    );
    expect(storage.snapshots.size).toBe(0);
    expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
  });

  it('records the pre rule as running before it starts (read by the pre rule itself)', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const base = restartingHooks(storage, api);
    const hooks: SnapshotHooks = {
      ...base,
      beforeSnapshot: (subject, claims, signal) => {
        const now = api.object<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, 'db-group', 'shop');
        storage.log.push(`record while pre runs: ${now?.metadata.annotations?.[recordKey] ?? 'none'}`);
        return base.beforeSnapshot(subject, claims, signal);
      },
    };
    const result = await run(threeClaims, [groupOf()], storage, { api, hooks });
    expect(result.group()?.status?.status).toBe('Successful');
    expect(storage.log[0]).toBe('record while pre runs: {"pre":"running","cut":false}');
    expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
  });

  it('a group without a post rule records nothing (a successor would have nothing to run)', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const writes: string[] = [];
    const base = restartingHooks(storage, api);
    const hooks: SnapshotHooks = {
      ...base,
      beforeSnapshot: (subject, claims, signal) => {
        const now = api.object<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, 'db-group', 'shop');
        writes.push(now?.metadata.annotations?.[recordKey] ?? 'none');
        return base.beforeSnapshot(subject, claims, signal);
      },
    };
    const result = await run(
      threeClaims,
      [{ ...groupOf(), spec: { pvcSelector: { matchLabels: app }, preExecRule: 'freeze' } }],
      storage,
      { api, hooks },
    );
    expect(result.group()?.status?.status).toBe('Successful');
    expect(writes).toEqual(['none']);
  });

  /** A stork that stopped in the pre rule (or after it, before the cut), each way a group is cut. */
  const interrupted = [
    {
      name: 'held per-claim snapshots, one half-made',
      storage: () => {
        const storage = new FakeStorage();
        storage.addSnapshot({ id: 'sid-a', name: driverName('a'), volumeId: 'vol-shop-a' });
        return storage;
      },
      discarded: 'delete snapshot sid-a',
    },
    {
      name: 'the storage system’s group call, its answer never recorded',
      storage: () => {
        const storage = new GroupCallStorage();
        storage.addSnapshot({
          id: 'gsnap-0-vol-shop-a',
          name: 'vol-shop-a.group-0',
          volumeId: 'vol-shop-a',
          labels: groupLabels(),
        });
        return storage;
      },
      discarded: 'delete snapshot gsnap-0-vol-shop-a',
    },
  ];
  for (const c of interrupted) {
    for (const undo of ['succeeds', 'fails'] as const) {
      it(`stopped in the pre rule (${c.name}): the post rule undoes it (${undo}), what was cut goes, the group is taken once`, async () => {
        const storage = c.storage();
        const api = fakeApi();
        const failing = undo === 'fails' ? 'failed to run post-snap rule due to: not frozen' : undefined;
        const result = await run(threeClaims, [withRecord('{"pre":"running","cut":false}')], storage, {
          api,
          hooks: restartingHooks(storage, api, failing),
        });
        expect(result.group()?.status?.status).toBe('Successful');
        expect(result.group()?.status?.numRetries ?? 0).toBe(0);
        const undoneAt = storage.log.indexOf('post undoes the pre rule on a,b,c');
        expect(undoneAt).toBe(0);
        expect(storage.log.filter((l) => l.startsWith('post '))).toHaveLength(1);
        expect(storage.log.indexOf(c.discarded)).toBeGreaterThan(undoneAt);
        expect(storage.log.indexOf('pre freeze on a,b,c (hold)')).toBeGreaterThan(
          storage.log.indexOf(c.discarded),
        );
        expect(storage.log.filter((l) => l.startsWith('pre '))).toHaveLength(1);
        expect(storage.snapshots.size).toBe(3);
        expect(result.members()).toHaveLength(3);
        expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
        const reasons = result.events.map((e) => e.reason);
        if (undo === 'fails') {
          expect(reasons).toContain('PreRuleUndoFailed');
          expect(reasons).not.toContain('PostRuleAfterRestart');
          expect(result.events.find((e) => e.reason === 'PreRuleUndoFailed')?.message).toContain(
            'not frozen',
          );
        } else {
          expect(reasons).toContain('PostRuleAfterRestart');
          expect(reasons).not.toContain('PreRuleUndoFailed');
        }
      });
    }
  }

  it('an undo that cannot run now (not the rule’s failure) keeps the record and is tried again', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const base = restartingHooks(storage, api);
    let calls = 0;
    const hooks: SnapshotHooks = {
      ...base,
      afterRestart: async (subject, claims, signal, point) => {
        calls += 1;
        if (calls === 1) {
          const now = api.object<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, 'db-group', 'shop');
          storage.log.push(`record kept: ${now?.metadata.annotations?.[recordKey] ?? 'none'}`);
          throw new Error('the API server is not answering');
        }
        await base.afterRestart?.(subject, claims, signal, point);
      },
    };
    const result = await run(threeClaims, [withRecord('{"pre":"running","cut":false}')], storage, {
      api,
      hooks,
    });
    expect(result.group()?.status?.status).toBe('Successful');
    expect(calls).toBe(2);
    expect(storage.log[0]).toBe('record kept: {"pre":"running","cut":false}');
    expect(storage.log.filter((l) => l.startsWith('pre '))).toHaveLength(1);
    expect(result.events.map((e) => e.reason)).not.toContain('PreRuleUndoFailed');
  });

  it('an attempt whose cut fails now ends its record: the retry runs no undo', async () => {
    const storage = new FlakyStorage('vol-shop-b');
    const api = fakeApi();
    const result = await run(threeClaims, [groupOf()], storage, {
      api,
      hooks: restartingHooks(storage, api),
    });
    expect(result.group()?.status?.status).toBe('Successful');
    expect(storage.log.filter((l) => l.startsWith('pre '))).toHaveLength(2);
    expect(storage.log.filter((l) => l.startsWith('post undoes'))).toEqual([]);
    expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
  });

  it('a pre rule that fails ends the record with the group', async () => {
    const storage = new FakeStorage();
    const api = fakeApi();
    const hooks: SnapshotHooks = {
      ...restartingHooks(storage, api),
      beforeSnapshot: () => Promise.reject(new SnapshotHookError('failed to run pre-snap rule due to: x')),
    };
    const result = await run(threeClaims, [groupOf()], storage, { api, hooks });
    expect(result.group()?.status?.status).toBe('Failed');
    expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
    expect(storage.log.filter((l) => l.startsWith('post undoes'))).toEqual([]);
  });

  for (const [value, ran] of [
    ['{"pre":"done","cut":true}', 'post after restart on a,b,c'],
    ['{"pre":"running","cut":false}', 'post undoes the pre rule on a,b,c'],
  ] as const) {
    for (const fails of [false, true]) {
      it(`a group deleted with its post rule due (${value}${fails ? ', the rule failing' : ''}): it runs once, then the group goes`, async () => {
        const storage = new FakeStorage();
        const api = fakeApi();
        const due = withRecord(value);
        api.seed(resources.groupVolumeSnapshots, {
          ...due,
          metadata: { ...due.metadata, finalizers: [groupSnapshotFinalizer] },
          status: { stage: 'Final', status: 'Successful' },
        });
        await api.delete(resources.groupVolumeSnapshots, { namespace: 'shop', name: 'db-group' });
        const result = await run(threeClaims, [], storage, {
          api,
          hooks: restartingHooks(storage, api, fails ? 'failed to run post-snap rule due to: x' : undefined),
        });
        expect(result.group()).toBeUndefined();
        expect(storage.log.filter((l) => l.startsWith('post '))).toEqual([ran]);
        expect(storage.log.filter((l) => l.startsWith('pre '))).toEqual([]);
      });
    }
  }
});
