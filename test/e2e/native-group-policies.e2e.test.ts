import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PersistentVolumeClaim, StorageClass } from '../../src/wire/k8s-types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { networkCsiDriver, networkStorageClass } from '../../src/box/csi/box-csi.js';
import { failCreateSnapshotParameter } from '../../src/box/csi/plugin.js';
import { restoreClaim as storkctlRestoreClaim } from '../../src/cli/pvc.js';
import { csiGroupSnapshotClassAnnotation } from '../../src/controllers/group-snapshot/native.js';
import { csiRestoreName, selectedNodeAnnotation } from '../../src/controllers/snapshot/csi-restore.js';
import {
  csiGroupSnapshotResources,
  type CsiVolumeGroupSnapshot,
  type CsiVolumeGroupSnapshotClass,
  type CsiVolumeGroupSnapshotContent,
} from '../../src/drivers/csi/csi-group-snapshots.js';
import {
  csiSnapshotResources,
  type CsiVolumeSnapshot,
  type CsiVolumeSnapshotContent,
} from '../../src/drivers/csi/csi-snapshots.js';
import type { GroupVolumeSnapshot } from '../../src/k8s/crds/group-volume-snapshot.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { claimBound, runDbPod, tableFile } from './csi-fixtures.js';
import { networkClaim, useNativeGroupBox } from './native-group-fixtures.js';
import { dbCommand as command, ruleCreator } from './rule-fixtures.js';

const claimNames = ['a', 'b'];
/** Claims of a WaitForFirstConsumer class of the network driver, in a group of their own (label app=late). */
const lateClaims = ['w1', 'w2'];
const lateClass = 'csi-network-late';
/** A VolumeGroupSnapshotClass of the network driver that keeps its storage snapshots. */
const retainClass = 'group-retain';
/** One that keeps them too, but whose CreateVolumeGroupSnapshot the box plugin refuses (a final error). */
const failingRetainClass = 'group-retain-fails';
/** The box's default class of the network driver (Delete). */
const deleteClass = 'csi-network-group-snapshots';

/**
 * Native group snapshots and the VolumeGroupSnapshotClass's deletion policy: deleting a GroupVolumeSnapshot
 * (its seed-API members, then its VolumeGroupSnapshot) keeps the storage group snapshot and every content
 * with a Retain class and removes them with a Delete class; a group that fails leaves nothing, whatever
 * its class says.
 */
describe('native group snapshots: the class deletion policy', () => {
  const { api, network, dirOf: dirIn } = useNativeGroupBox('stork-native-group-policies');
  let ns = '';

  beforeAll(async () => {
    for (const [name, parameters] of [
      [retainClass, undefined],
      [failingRetainClass, { [failCreateSnapshotParameter]: 'the array refused the group' }],
    ] as const) {
      await api().create<CsiVolumeGroupSnapshotClass & { apiVersion: string; kind: string }>(
        csiGroupSnapshotResources.volumeGroupSnapshotClasses,
        {
          apiVersion: 'groupsnapshot.storage.k8s.io/v1',
          kind: 'VolumeGroupSnapshotClass',
          metadata: { name },
          driver: networkCsiDriver,
          deletionPolicy: 'Retain',
          ...(parameters ? { parameters } : {}),
        },
      );
    }
    await api().create<StorageClass>(resources.storageClasses, {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: lateClass },
      provisioner: networkCsiDriver,
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    ns = await createTestNamespace(api(), 'grouppolicy');
    const claims = [
      ...claimNames.map((name) => ({ name, app: 'db', className: networkStorageClass })),
      ...lateClaims.map((name) => ({ name, app: 'late', className: lateClass })),
    ];
    for (const { name, app, className } of claims)
      await api().create<PersistentVolumeClaim>(
        resources.persistentVolumeClaims,
        networkClaim(ns, name, app, className),
        ns,
      );
    // The late claims bind once the pod using them is scheduled.
    await runDbPod(
      api(),
      ns,
      claims.map((c) => c.name),
    );
    for (const { name } of claims) await claimBound(api(), ns, name, { timeoutMs: 120_000, intervalMs: 250 });
  }, 900_000);

  const rule = ruleCreator(api, () => ns);
  const dirOf = (name: string): Promise<string> => dirIn(ns, name);

  const takeGroup = async (
    name: string,
    className: string | undefined,
    spec: Partial<GroupVolumeSnapshot['spec']> = {},
    app = 'db',
  ): Promise<GroupVolumeSnapshot> => {
    await api().create<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      {
        apiVersion: 'stork.libopenstorage.org/v1alpha1',
        kind: 'GroupVolumeSnapshot',
        metadata: {
          name,
          ...(className ? { annotations: { [csiGroupSnapshotClassAnnotation]: className } } : {}),
        },
        spec: { pvcSelector: { matchLabels: { app } }, ...spec },
      },
      ns,
    );
    return waitFor(
      `the group ${name} Final`,
      async () => {
        const g = await api().get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, {
          namespace: ns,
          name,
        });
        return g.status?.stage === 'Final' ? g : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 250 },
    );
  };

  /** What external-snapshotter holds of a group: its VolumeGroupSnapshot, members and their contents. */
  const storageSide = async (groupUid: string) => {
    const vgsName = `stork-group-${groupUid}`;
    const groups = (
      await api().list<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, ns)
    ).items.filter((g) => g.metadata.name === vgsName);
    const members = (
      await api().list<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ns)
    ).items.filter((s) =>
      (s.metadata.ownerReferences ?? []).some((o) => o.kind === 'VolumeGroupSnapshot' && o.name === vgsName),
    );
    return { groups, members };
  };
  const contentNames = async (): Promise<{ group: Set<string>; member: Set<string> }> => ({
    group: new Set(
      (
        await api().list<CsiVolumeGroupSnapshotContent>(csiGroupSnapshotResources.volumeGroupSnapshotContents)
      ).items.map((c) => c.metadata.name ?? ''),
    ),
    member: new Set(
      (await api().list<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents)).items.map(
        (c) => c.metadata.name ?? '',
      ),
    ),
  });
  const seedMembers = async (uid: string): Promise<VolumeSnapshot[]> =>
    (await api().list<VolumeSnapshot>(resources.volumeSnapshots, ns)).items.filter((s) =>
      (s.metadata.name ?? '').endsWith(uid),
    );

  /**
   * Takes a group with `className`, deletes it, and returns what was there before and after: the group
   * content's handle (the storage's group snapshot id) and the contents' names.
   */
  const takeAndDelete = async (name: string, className: string) => {
    const done = await takeGroup(name, className);
    expect(done.status?.status, JSON.stringify(done.status)).toBe('Successful');
    const uid = done.metadata.uid ?? '';
    // Natively: one VolumeGroupSnapshot of the class, with one CSI member per claim of the group.
    expect(done.status?.volumeSnapshots?.[0]?.DataSource).toHaveProperty('csiVolumeGroupSnapshot');
    const { groups, members } = await storageSide(uid);
    expect(groups.map((g) => g.spec.volumeGroupSnapshotClassName)).toEqual([className]);
    expect(members).toHaveLength(claimNames.length);
    const groupContent = groups[0]?.status?.boundVolumeGroupSnapshotContentName ?? '';
    const memberContents = members.map((m) => m.status?.boundVolumeSnapshotContentName ?? '');
    const content = await api().get<CsiVolumeGroupSnapshotContent>(
      csiGroupSnapshotResources.volumeGroupSnapshotContents,
      { name: groupContent },
    );
    const handle = content.status?.volumeGroupSnapshotHandle ?? '';
    expect(network()?.groupSnapshotIds().has(handle)).toBe(true);
    expect(await seedMembers(uid)).toHaveLength(claimNames.length);

    await api().delete(resources.groupVolumeSnapshots, { namespace: ns, name });
    await waitFor(
      'the group, its seed members, its VolumeGroupSnapshot and CSI members gone',
      async () => {
        const left = await storageSide(uid);
        const seeds = await seedMembers(uid);
        const group = await api()
          .get(resources.groupVolumeSnapshots, { namespace: ns, name })
          .then(
            () => true,
            () => false,
          );
        return !group && seeds.length === 0 && left.groups.length === 0 && left.members.length === 0
          ? true
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    return { uid, handle, groupContent, memberContents };
  };

  it('a Retain class: deleting the group keeps the storage group snapshot and every content', async () => {
    const { handle, groupContent, memberContents } = await takeAndDelete('kept', retainClass);
    // Given the controllers time to act on the deletion: nothing of the storage side goes.
    for (let i = 0; i < 10; i++) {
      const contents = await contentNames();
      expect(contents.group.has(groupContent)).toBe(true);
      for (const member of memberContents) expect(contents.member.has(member)).toBe(true);
      expect(network()?.groupSnapshotIds().has(handle)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const content = await api().get<CsiVolumeGroupSnapshotContent>(
      csiGroupSnapshotResources.volumeGroupSnapshotContents,
      { name: groupContent },
    );
    expect(content.spec.deletionPolicy).toBe('Retain');
  }, 600_000);

  it('a Delete class: deleting the group removes the storage group snapshot and every content', async () => {
    const { handle, groupContent, memberContents } = await takeAndDelete('removed', deleteClass);
    await waitFor(
      'the contents and the storage group snapshot gone',
      async () => {
        const contents = await contentNames();
        return !contents.group.has(groupContent) &&
          memberContents.every((m) => !contents.member.has(m)) &&
          network()?.groupSnapshotIds().has(handle) === false
          ? true
          : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }, 600_000);

  /** Waits until nothing of a failed group is left: no VolumeGroupSnapshot, member, content or storage. */
  const nothingLeft = async (
    uid: string,
    before: { group: Set<string>; member: Set<string> },
    storageBefore: Set<string>,
  ): Promise<void> => {
    let last = '';
    try {
      await waitFor(
        'nothing of the failed group left',
        async () => {
          const { groups, members } = await storageSide(uid);
          const contents = await contentNames();
          const newGroupContents = [...contents.group].filter((c) => !before.group.has(c));
          const newMemberContents = [...contents.member].filter((c) => !before.member.has(c));
          const newStorage = [...(network()?.groupSnapshotIds().keys() ?? [])].filter(
            (id) => !storageBefore.has(id),
          );
          const seeds = await seedMembers(uid);
          last = JSON.stringify({
            groups: groups.map((g) => g.metadata.name),
            members: members.map((m) => m.metadata.name),
            newGroupContents,
            newMemberContents,
            newStorage,
            seeds: seeds.map((m) => m.metadata.name),
          });
          return groups.length === 0 &&
            members.length === 0 &&
            newGroupContents.length === 0 &&
            newMemberContents.length === 0 &&
            newStorage.length === 0 &&
            seeds.length === 0
            ? true
            : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; left: ${last}`, { cause: error });
    }
  };

  // Twice: each run is one draw of a race between stork and snapshot-controller's caches.
  it.each([1, 2])(
    'a Retain class and a post rule that fails (%i): the group Failed, nothing of it left',
    async (i) => {
      const before = await contentNames();
      const storageBefore = new Set(network()?.groupSnapshotIds().keys() ?? []);
      const taken = network()?.groupSnapshotsTaken ?? 0;
      const post = await rule([command('exit 3')]);
      const done = await takeGroup(`post-fails-${i}`, retainClass, { postExecRule: post });
      expect(done.status?.status, JSON.stringify(done.status)).toBe('Failed');
      // It was cut natively with the Retain class, then removed with its storage.
      expect(network()?.groupSnapshotsTaken).toBe(taken + 1);
      await nothingLeft(done.metadata.uid ?? '', before, storageBefore);
    },
    600_000,
  );

  // Four times: before stork marked the content being deleted, about one run in four left it (the group
  // snapshot deleted before snapshot-controller put its finalizer on it).
  it.each([1, 2, 3, 4])(
    'a Retain class whose group snapshot the storage refuses (%i): the group Failed at once, with the cause, nothing of it left',
    async (i) => {
      const before = await contentNames();
      const storageBefore = new Set(network()?.groupSnapshotIds().keys() ?? []);
      const taken = network()?.groupSnapshotsTaken ?? 0;
      const done = await takeGroup(`refused-${i}`, failingRetainClass);
      expect(done.status?.status, JSON.stringify(done.status)).toBe('Failed');
      // A final error (csi-snapshotter's INTERNAL), told from a retried one by the group content: failed at
      // once, not after the cut timeout.
      expect(done.status?.conditions?.at(-1)?.message).toMatch(
        /the VolumeGroupSnapshot \S+ failed: .*the array refused the group/,
      );
      expect(network()?.groupSnapshotsTaken).toBe(taken);
      await nothingLeft(done.metadata.uid ?? '', before, storageBefore);
    },
    600_000,
  );

  it('a member of a group of WaitForFirstConsumer claims restores through stork-snapshot-sc: Bound with no pod using it', async () => {
    for (const name of lateClaims) {
      const dir = await dirOf(name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, tableFile), `late ${name}\n`);
    }
    const done = await takeGroup('late', undefined, {}, 'late');
    expect(done.status?.status, JSON.stringify(done.status)).toBe('Successful');
    expect(done.status?.volumeSnapshots?.[0]?.DataSource).toHaveProperty('csiVolumeGroupSnapshot');
    const uid = done.metadata.uid ?? '';
    const restored = await api().create<PersistentVolumeClaim>(
      resources.persistentVolumeClaims,
      storkctlRestoreClaim('w1-restored', ns, { snapshot: `late-w1-${uid}`, size: '1Gi' }),
      ns,
    );
    // The restore claim is of the late class, and stork chose its node, as no pod consumes it.
    const restoreClaim = await waitFor(
      'the restore claim with its node',
      async () => {
        const c = await api()
          .get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
            namespace: ns,
            name: csiRestoreName(restored.metadata?.uid ?? ''),
          })
          .catch(() => undefined);
        return c?.metadata?.annotations?.[selectedNodeAnnotation] ? c : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(restoreClaim.spec?.storageClassName).toBe(lateClass);
    expect(restoreClaim.metadata?.annotations?.[selectedNodeAnnotation]).toBe('node-1');
    const bound = await claimBound(api(), ns, 'w1-restored', { timeoutMs: 180_000, intervalMs: 250 });
    const pods = (
      await api().list<{ spec?: { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } }>(
        resources.pods,
        ns,
      )
    ).items;
    expect(
      pods.some((p) =>
        (p.spec?.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === 'w1-restored'),
      ),
    ).toBe(false);
    expect(await readFile(join(await dirOf('w1-restored'), tableFile), 'utf8')).toBe('late w1\n');
    // And a pod can use it.
    await api().create(
      resources.pods,
      testPod('user', { schedulerName: 'stork', claims: ['w1-restored'] }),
      ns,
    );
    await waitForPod(api(), ns, 'user', isRunning, 90_000);
    expect(bound.spec?.storageClassName).toBe('stork-snapshot-sc');
  }, 600_000);
});
