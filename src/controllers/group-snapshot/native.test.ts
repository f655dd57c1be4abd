// Native group snapshots: when a GroupVolumeSnapshot is one VolumeGroupSnapshot and when the held
// fallback, and the native path of the controller over the fake API server, an in-memory storage system
// and an in-memory VolumeGroupSnapshot service.
import type { LabelSelector, PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { CsiSnapshotFailed } from '../../drivers/csi/csi-snapshots.js';
import type { DriverVolumeSnapshot } from '../../drivers/volume-snapshots.js';
import type { GroupVolumeSnapshot } from '../../k8s/crds/group-volume-snapshot.js';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import { Informer } from '../../k8s/informer.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import type { SnapshotHooks } from '../snapshot/hooks.js';
import { currentCondition } from '../snapshot/names.js';
import { SnapshotController } from '../snapshot/snapshot-controller.js';
import { FakeStorage, runUntilSettled, type World } from '../snapshot/testing.js';
import { GroupSnapshotController } from './group-snapshot-controller.js';
import type { GroupMember } from './members.js';
import { groupSnapshotUidLabel } from './names.js';
import {
  csiGroupSnapshotClassAnnotation,
  nativeChoice,
  nativeDataSourceKey,
  type NativeGroupSnapshots,
} from './native.js';
import type { GroupSnapshotState } from '../../drivers/volume-snapshots.js';

const claim = (name: string, labels: Record<string, string>, namespace = 'shop'): PersistentVolumeClaim => ({
  metadata: { namespace, name, uid: `uid-${namespace}-${name}`, labels },
  spec: { volumeName: `pv-${namespace}-${name}` },
  status: { phase: 'Bound' },
});
const volume = (name: string, driver = 'net.csi.example.com', namespace = 'shop'): PersistentVolume => ({
  metadata: { name: `pv-${namespace}-${name}` },
  spec: { csi: { driver, volumeHandle: `vol-${namespace}-${name}` } },
});
const app = { app: 'db' };
const world: World = {
  claims: [claim('a', app), claim('b', app), claim('c', app), claim('web', { app: 'web' })],
  volumes: [volume('a'), volume('b'), volume('c'), volume('web')],
};
const groupOf = (
  spec: Partial<GroupVolumeSnapshot['spec']> = {},
  extra: Partial<GroupVolumeSnapshot> = {},
): GroupVolumeSnapshot => ({
  metadata: { namespace: 'shop', name: 'db-group', uid: 'g1', ...extra.metadata },
  spec: { pvcSelector: { matchLabels: app }, preExecRule: 'freeze', postExecRule: 'thaw', ...spec },
  ...(extra.status ? { status: extra.status } : {}),
});
const member = (name: string): GroupMember => ({
  claimName: name,
  pvName: `pv-shop-${name}`,
  volumeId: `vol-shop-${name}`,
  driverSnapshotName: `group-snapshot-${name}`,
  memberName: `db-group-${name}-g1`,
});

describe('nativeChoice', () => {
  const claims = world.claims ?? [];
  const volumes = new Map((world.volumes ?? []).map((v) => [v.metadata?.name ?? '', v]));
  const lookup = (extra: PersistentVolume[] = []) => ({
    claims,
    volume: (name: string) => extra.find((v) => v.metadata?.name === name) ?? volumes.get(name),
  });
  const abc = ['a', 'b', 'c'].map(member);
  const cases: {
    name: string;
    selector: LabelSelector;
    members?: GroupMember[];
    extra?: PersistentVolume[];
    want: string;
  }[] = [
    { name: 'matchLabels that pick exactly the members', selector: { matchLabels: app }, want: 'native' },
    {
      name: 'matchExpressions that narrow what matchLabels pick (upstream would take more)',
      selector: { matchLabels: app, matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] },
      members: abc.slice(0, 2),
      want: "pvcSelector's matchLabels select other claims than the whole selector does",
    },
    {
      name: 'matchExpressions only',
      selector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db'] }] },
      want: 'pvcSelector has no matchLabels (a VolumeGroupSnapshot selects by them)',
    },
    {
      name: 'a volume that is not CSI',
      selector: { matchLabels: app },
      extra: [{ metadata: { name: 'pv-shop-b' }, spec: { portworxVolume: { volumeID: 'x' } } }],
      want: 'not every claim is a CSI volume',
    },
    {
      name: 'volumes of two CSI drivers',
      selector: { matchLabels: app },
      extra: [volume('c', 'other.csi.example.com')],
      want: 'the claims are volumes of several CSI drivers',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const choice = nativeChoice(groupOf({ pvcSelector: c.selector }), c.members ?? abc, lookup(c.extra));
      expect(choice.native ? 'native' : choice.reason).toBe(c.want);
      if (choice.native) {
        expect(choice.selector).toEqual({ matchLabels: app });
        expect(choice.driver).toBe('net.csi.example.com');
      }
    });
  }
});

/** Storage whose snapshot ids are CSI ones (stork takes CSI snapshots). */
class CsiStorage extends FakeStorage {
  ownsSnapshotId(id: string): boolean {
    return id.startsWith('csi:');
  }
}

/** VolumeGroupSnapshots in memory: every write goes to the storage log, read by the test. */
class FakeNative implements NativeGroupSnapshots {
  readonly groups = new Map<string, { className: string; selector: LabelSelector }>();
  constructor(
    private readonly storage: FakeStorage,
    private readonly behaviour: {
      classes?: Record<string, string>;
      failCut?: string;
      notReady?: boolean;
    } = {},
  ) {}
  classFor(driver: string, wanted: string | undefined): Promise<string | undefined> {
    const classes = this.behaviour.classes ?? {};
    if (wanted !== undefined) {
      if (classes[wanted] !== driver)
        return Promise.reject(new CsiSnapshotFailed(`VolumeGroupSnapshotClass ${wanted} not found`));
      return Promise.resolve(wanted);
    }
    return Promise.resolve(Object.keys(classes).find((k) => classes[k] === driver));
  }
  cut(
    ref: { namespace: string; name: string },
    spec: { selector: LabelSelector; className: string; labels: Readonly<Record<string, string>> },
  ): Promise<void> {
    this.storage.log.push(`cut ${ref.name} (${spec.className}) ${JSON.stringify(spec.selector)}`);
    if (this.behaviour.failCut) {
      this.storage.log.push(`discard ${ref.name}`);
      return Promise.reject(new CsiSnapshotFailed(this.behaviour.failCut));
    }
    expect(spec.labels).toEqual({ [groupSnapshotUidLabel]: 'g1' });
    this.groups.set(ref.name, { className: spec.className, selector: spec.selector });
    for (const n of ['a', 'b', 'c'])
      this.storage.addSnapshot({ id: `csi:shop/snap-${n}`, name: `snap-${n}`, volumeId: `vol-shop-${n}` });
    return Promise.resolve();
  }
  state(ref: { namespace: string; name: string }): Promise<GroupSnapshotState> {
    if (!this.groups.has(ref.name)) return Promise.resolve({ phase: 'gone' });
    if (this.behaviour.notReady) return Promise.resolve({ phase: 'pending' });
    const members = new Map<string, DriverVolumeSnapshot>();
    for (const n of ['a', 'b', 'c']) {
      const s = this.storage.snapshots.get(`csi:shop/snap-${n}`);
      if (s) members.set(n, s);
    }
    return Promise.resolve({ phase: 'ready', members });
  }
  exists(ref: { namespace: string; name: string }): Promise<boolean> {
    return Promise.resolve(this.groups.has(ref.name));
  }
  discard(ref: { namespace: string; name: string }): Promise<void> {
    if (this.groups.delete(ref.name)) this.storage.log.push(`discard ${ref.name}`);
    return Promise.resolve();
  }
  delete(ref: { namespace: string; name: string }): Promise<void> {
    if (this.groups.delete(ref.name)) this.storage.log.push(`delete ${ref.name}`);
    return Promise.resolve();
  }
}

/** Rules that log: the hold, and whether the post rule runs. */
function loggingHooks(storage: FakeStorage): SnapshotHooks {
  return {
    recover: () => Promise.resolve(),
    beforeSnapshot: (_subject, claims) => {
      storage.log.push(`pre on ${claims.join(',')} (hold)`);
      return Promise.resolve({
        afterSnapshot: (ok: boolean) => {
          storage.log.push(`release; post ${ok ? 'runs' : 'skipped'}`);
          return Promise.resolve();
        },
      });
    },
  };
}

const fakeApi = () =>
  new FakeKubeClient({
    statusSubresources: [
      resources.volumeSnapshots,
      resources.volumeSnapshotDatas,
      resources.groupVolumeSnapshots,
    ],
  });

async function run(
  groups: readonly GroupVolumeSnapshot[],
  storage: FakeStorage,
  native: NativeGroupSnapshots,
  api = fakeApi(),
  startWorld: World = world,
  hooks: SnapshotHooks = loggingHooks(storage),
) {
  api.seed(resources.groupVolumeSnapshots, ...groups);
  const result = await runUntilSettled(api, startWorld, storage, (deps) => {
    const informer = new Informer<GroupVolumeSnapshot>({ api, type: resources.groupVolumeSnapshots });
    const controller = new GroupSnapshotController({
      ...deps,
      groups: informer,
      hooks,
      nativeGroupSnapshots: native,
      pollIntervalMs: 10,
      resyncIntervalMs: 50,
      retryDelayMs: 10,
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
  const group = () => api.object<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, 'db-group', 'shop');
  const members = () =>
    api
      .objects<VolumeSnapshot>(resources.volumeSnapshots)
      .filter((s) => s.metadata.labels?.[groupSnapshotUidLabel])
      .sort((x, y) => (x.metadata.name ?? '').localeCompare(y.metadata.name ?? ''));
  return { ...result, group, members };
}

const driver = 'net.csi.example.com';
const outcome = (g: GroupVolumeSnapshot | undefined) =>
  `${g?.status?.stage ?? ''}/${g?.status?.status ?? ''}`;

describe('GroupSnapshotController, native group snapshots', () => {
  it("the driver's default class: one VolumeGroupSnapshot cut while the pre rule holds, members from its snapshots", async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver } });
    const result = await run([groupOf()], storage, native);
    expect(outcome(result.group())).toBe('Final/Successful');
    expect(storage.log).toEqual([
      'pre on a,b,c (hold)',
      'cut stork-group-g1 (net-groups) {"matchLabels":{"app":"db"}}',
      'release; post runs',
    ]);
    const entries = result.group()?.status?.volumeSnapshots ?? [];
    expect(entries.map((e) => [e.VolumeSnapshotName, e.TaskID])).toEqual([
      ['db-group-a-g1', 'snap-a'],
      ['db-group-b-g1', 'snap-b'],
      ['db-group-c-g1', 'snap-c'],
    ]);
    for (const e of entries)
      expect(e.DataSource?.[nativeDataSourceKey]).toEqual({ namespace: 'shop', name: 'stork-group-g1' });
    const members = result.members();
    expect(members.map((m) => m.spec.persistentVolumeClaimName)).toEqual(['a', 'b', 'c']);
    for (const [i, m] of members.entries()) {
      expect(currentCondition(m.status?.conditions)?.type).toBe('Ready');
      const data = result.data(m.spec.snapshotDataName ?? '');
      expect(data?.spec.portworxVolume).toEqual({
        snapshotId: `csi:shop/snap-${['a', 'b', 'c'][i] ?? ''}`,
        snapshotType: 'local',
      });
    }
    expect(result.events.map((e) => e.reason)).toContain('GroupSnapshotSuccessful');
  });

  it('no class for the driver: the held fallback, one snapshot per claim', async () => {
    const storage = new CsiStorage();
    const result = await run([groupOf()], storage, new FakeNative(storage));
    expect(outcome(result.group())).toBe('Final/Successful');
    expect(storage.log.filter((l) => l.startsWith('cut '))).toEqual([]);
    expect(storage.log.filter((l) => l.startsWith('snapshot vol-shop-'))).toHaveLength(3);
  });

  it('a selector upstream would read otherwise: the held fallback, even with a class', async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver } });
    const selector = { matchLabels: app, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] };
    const result = await run([groupOf({ pvcSelector: selector })], storage, native, fakeApi(), {
      // A claim the labels select but the expressions leave out: a VolumeGroupSnapshot would take it.
      claims: [...(world.claims ?? []), claim('d', { app: 'db', tier: 'x' })],
      volumes: [...(world.volumes ?? []), volume('d')],
    });
    expect(outcome(result.group())).toBe('Final/Successful');
    expect(storage.log.filter((l) => l.startsWith('cut '))).toEqual([]);
    expect(storage.log.filter((l) => l.startsWith('snapshot vol-shop-'))).toHaveLength(3);
    expect(result.members().map((m) => m.spec.persistentVolumeClaimName)).toEqual(['a', 'b', 'c']);
  });

  it('stork takes no CSI snapshots: never native', async () => {
    const storage = new FakeStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver } });
    const result = await run([groupOf()], storage, native);
    expect(outcome(result.group())).toBe('Final/Successful');
    expect(storage.log.filter((l) => l.startsWith('cut '))).toEqual([]);
  });

  it('a class named on the group is used; one that is not the driver’s fails the group before any rule', async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver, fast: driver } });
    const named = groupOf({}, { metadata: { annotations: { [csiGroupSnapshotClassAnnotation]: 'fast' } } });
    const ok = await run([named], storage, native);
    expect(outcome(ok.group())).toBe('Final/Successful');
    expect(storage.log).toContain('cut stork-group-g1 (fast) {"matchLabels":{"app":"db"}}');

    const storage2 = new CsiStorage();
    const bad = groupOf({ options: { [csiGroupSnapshotClassAnnotation]: 'ghost' } });
    const failed = await run(
      [bad],
      storage2,
      new FakeNative(storage2, { classes: { 'net-groups': driver } }),
    );
    expect(outcome(failed.group())).toBe('Final/Failed');
    expect(currentCondition(failed.group()?.status?.conditions ?? [])?.message).toBe(
      'group snapshot failed due to err: VolumeGroupSnapshotClass ghost not found',
    );
    expect(storage2.log).toEqual([]);
  });

  it('a cut that fails: the post rule is skipped, nothing stays, the group Failed with the cause', async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, {
      classes: { 'net-groups': driver },
      failCut: 'the VolumeGroupSnapshot shop/stork-group-g1 failed: boom',
    });
    const result = await run([groupOf()], storage, native);
    expect(outcome(result.group())).toBe('Final/Failed');
    expect(currentCondition(result.group()?.status?.conditions ?? [])?.message).toBe(
      'group snapshot failed due to err: the VolumeGroupSnapshot shop/stork-group-g1 failed: boom',
    );
    expect(storage.log).toContain('release; post skipped');
    expect(storage.log).not.toContain('release; post runs');
    expect(native.groups.size).toBe(0);
    expect(result.members()).toEqual([]);
  });

  it('cut but not ready: the group waits in PostSnapshot and makes no member', async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver }, notReady: true });
    const result = await run([groupOf()], storage, native);
    expect(outcome(result.group())).toBe('PostSnapshot/InProgress');
    expect(result.members()).toEqual([]);
  });

  it('restart in PostSnapshot adopts the VolumeGroupSnapshot by name: no rule, no cut again', async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver } });
    await native.cut(
      { namespace: 'shop', name: 'stork-group-g1' },
      { selector: { matchLabels: app }, className: 'net-groups', labels: { [groupSnapshotUidLabel]: 'g1' } },
    );
    storage.log.length = 0;
    const source = { [nativeDataSourceKey]: { namespace: 'shop', name: 'stork-group-g1' } };
    const status = {
      stage: 'PostSnapshot' as const,
      status: 'InProgress' as const,
      volumeSnapshots: ['a', 'b', 'c'].map((n) => ({
        VolumeSnapshotName: `db-group-${n}-g1`,
        TaskID: '',
        ParentVolumeID: `vol-shop-${n}`,
        DataSource: source,
      })),
    };
    const result = await run([groupOf({}, { status })], storage, native);
    expect(outcome(result.group())).toBe('Final/Successful');
    expect(storage.log).toEqual([]);
    expect(result.members()).toHaveLength(3);
  });

  it('restart in the middle of the hold (Snapshot): the group snapshot is discarded and taken again', async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver } });
    native.groups.set('stork-group-g1', { className: 'net-groups', selector: { matchLabels: app } });
    const status = { stage: 'Snapshot' as const, status: 'InProgress' as const };
    const result = await run([groupOf({}, { status })], storage, native);
    expect(outcome(result.group())).toBe('Final/Successful');
    expect(storage.log.slice(0, 3)).toEqual([
      'discard stork-group-g1',
      'pre on a,b,c (hold)',
      'cut stork-group-g1 (net-groups) {"matchLabels":{"app":"db"}}',
    ]);
  });

  it('restart in the pre rule (recorded running): the post rule undoes it, the half-made group snapshot goes, one cut', async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver } });
    native.groups.set('stork-group-g1', { className: 'net-groups', selector: { matchLabels: app } });
    const recordKey = 'stork.libopenstorage.org/snapshot-rules-in-flight';
    const hooks: SnapshotHooks = {
      ...loggingHooks(storage),
      afterRestart: (_subject, claims, _signal, point) => {
        storage.log.push(`post (${point ?? 'cut'}) on ${claims.join(',')}`);
        return Promise.resolve();
      },
    };
    const group = groupOf(
      {},
      {
        metadata: {
          namespace: 'shop',
          name: 'db-group',
          uid: 'g1',
          annotations: { [recordKey]: '{"pre":"running","cut":false}' },
        },
        status: { stage: 'PreSnapshot', status: 'InProgress' },
      },
    );
    const result = await run([group], storage, native, fakeApi(), world, hooks);
    expect(outcome(result.group())).toBe('Final/Successful');
    expect(storage.log.slice(0, 4)).toEqual([
      'post (interrupted) on a,b,c',
      'discard stork-group-g1',
      'pre on a,b,c (hold)',
      'cut stork-group-g1 (net-groups) {"matchLabels":{"app":"db"}}',
    ]);
    expect(storage.log.filter((l) => l.startsWith('cut '))).toHaveLength(1);
    expect(result.members()).toHaveLength(3);
    expect(result.group()?.metadata.annotations?.[recordKey]).toBeUndefined();
  });

  it('deleting the group deletes its members and its VolumeGroupSnapshot', async () => {
    const storage = new CsiStorage();
    const native = new FakeNative(storage, { classes: { 'net-groups': driver } });
    const api = fakeApi();
    await run([groupOf()], storage, native, api);
    await api.delete(resources.groupVolumeSnapshots, { namespace: 'shop', name: 'db-group' });
    const after = await run([], storage, native, api, {});
    expect(after.group()).toBeUndefined();
    expect(after.members()).toEqual([]);
    expect(storage.log).toContain('delete stork-group-g1');
    expect(native.groups.size).toBe(0);
  });
});
