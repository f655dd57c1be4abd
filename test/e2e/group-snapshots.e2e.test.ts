import { mkdtempSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCsiDriver, localTopologyKey, type BoxCsi } from '../../src/box/csi/box-csi.js';
import {
  csiSnapshotResources,
  storkSnapshotLabel,
  type CsiVolumeSnapshot,
} from '../../src/drivers/csi/csi-snapshots.js';
import type { GroupVolumeSnapshot } from '../../src/k8s/crds/group-volume-snapshot.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { applyManifests, createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import {
  archivedTable,
  claimBound,
  claimDir,
  listCsiSnapshots,
  localClaim,
  runDbPod,
  startNodeCsi,
  tableFile,
  useCsiStorkBox,
  writeTable,
} from './csi-fixtures.js';
import { dbCommand as command, ruleCreator, testRuleTimings } from './rule-fixtures.js';
import { useStorkBox } from './stork-helpers.js';

const markerDir = mkdtempSync(join(tmpdir(), 'stork-groupsnap-markers-'));
const logDir = mkdtempSync(join(tmpdir(), 'stork-groupsnap-'));
const claimNames = ['a', 'b', 'c'];
const groupUidLabel = 'stork.libopenstorage.org/group-snapshot-uid';

/**
 * Stork's GroupVolumeSnapshot on CSI storage, with real bytes (see csi-snapshots.e2e.test.ts for the
 * box's CSI plugin): three claims of one application, one background pre-rule held while all three CSI
 * snapshots are cut, a post-rule after, and a group whose claim cannot be snapshotted leaving nothing.
 */
describe('group snapshots on CSI storage', () => {
  const ctx = useCsiStorkBox({ markerDir, ...testRuleTimings });
  const api = () => ctx.box.api;
  let csi: BoxCsi | undefined;
  let ns = '';
  /** Each claim's volume directory on node-1's storage. */
  const volumeDirs = new Map<string, string>();

  beforeAll(async () => {
    csi = await startNodeCsi(ctx.box);
    ns = await createTestNamespace(api(), 'groupsnap');
    for (const name of claimNames) {
      await api().create(resources.persistentVolumeClaims, localClaim(ns, name, { app: 'db' }), ns);
    }
    await runDbPod(api(), ns, claimNames);
    for (const name of claimNames) {
      const dir = await claimDir(api(), csi, ns, name);
      await writeTable(dir, `data ${name}\n`);
      volumeDirs.set(name, dir);
    }
  }, 600_000);

  afterAll(async () => {
    await csi?.stop();
    await rm(markerDir, { recursive: true, force: true });
    await rm(logDir, { recursive: true, force: true });
  });

  const rule = ruleCreator(api, () => ns);
  const tables = (): string[] => claimNames.map((n) => join(volumeDirs.get(n) ?? '', tableFile));

  async function group(name: string, spec: GroupVolumeSnapshot['spec']): Promise<GroupVolumeSnapshot> {
    await api().create<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      {
        apiVersion: 'stork.libopenstorage.org/v1alpha1',
        kind: 'GroupVolumeSnapshot',
        metadata: { name },
        spec,
      },
      ns,
    );
    return waitFor(
      `group snapshot ${ns}/${name} Final`,
      async () => {
        const g = await api().get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, {
          namespace: ns,
          name,
        });
        return g.status?.stage === 'Final' ? g : undefined;
      },
      { timeoutMs: 180_000, intervalMs: 250 },
    );
  }
  const csiSnapshots = async (): Promise<CsiVolumeSnapshot[]> =>
    (await listCsiSnapshots(api(), ns)).filter((s) =>
      (s.metadata.labels?.[storkSnapshotLabel] ?? '').startsWith('group-snapshot-'),
    );

  it('one held pre-rule over all three CSI snapshots: each has the pre marker, none the post one', async () => {
    const log = join(logDir, 'bg.log');
    const stamp = (word: string): string => `echo "${word} $(date +%s%3N)" >> ${log}`;
    const markPre = tables()
      .map((t) => `echo pre >> ${t}`)
      .join('; ');
    const markPost = tables()
      .map((t) => `echo post >> ${t}`)
      .join('; ');
    const pre = await rule([
      command(`${markPre}; ${stamp('locked')}; \${WAIT_CMD}; ${stamp('unlocked')}`, true),
    ]);
    const post = await rule([command(markPost)]);
    const done = await group('consistent', {
      pvcSelector: { matchLabels: { app: 'db' } },
      preExecRule: pre,
      postExecRule: post,
    });
    expect(done.status?.status, JSON.stringify(done.status)).toBe('Successful');
    const uid = done.metadata.uid ?? '';
    expect(done.status?.volumeSnapshots?.map((v) => v.VolumeSnapshotName)).toEqual(
      claimNames.map((c) => `consistent-${c}-${uid}`),
    );

    const cuts: number[] = [];
    for (const claim of claimNames) {
      const member = await api().get<VolumeSnapshot>(resources.volumeSnapshots, {
        namespace: ns,
        name: `consistent-${claim}-${uid}`,
      });
      expect(member.status?.conditions?.at(-1)?.type).toBe('Ready');
      expect(member.spec.persistentVolumeClaimName).toBe(claim);
      expect(member.metadata.labels?.[groupUidLabel]).toBe(uid);
      const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
        name: member.spec.snapshotDataName ?? '',
      });
      expect(data.spec.volumeSnapshotRef?.uid).toBe(member.metadata.uid);
      const ref = data.spec.csiSnapshot ?? {};
      const csiSnapshot = await api().get<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, {
        namespace: ns,
        name: ref.name ?? '',
      });
      expect(csiSnapshot.spec.source.persistentVolumeClaimName).toBe(claim);
      expect(csiSnapshot.status?.readyToUse).toBe(true);
      cuts.push(Date.parse(csiSnapshot.status?.creationTime ?? ''));
      const { table } = await archivedTable(api(), csi, logDir, ref.volumeSnapshotContentName ?? '');
      expect(table).toBe(`data ${claim}\npre\n`);
    }
    for (const table of tables()) expect(await readFile(table, 'utf8')).toMatch(/^data \w\npre\npost\n$/);

    // The one background hold was open while every snapshot was cut (creationTime has a one-second
    // resolution: locked before the end of each cut's second, released no earlier than its start).
    const lines = (await readFile(log, 'utf8')).trim().split('\n');
    const at = (word: string): number => Number(lines.find((l) => l.startsWith(`${word} `))?.split(' ')[1]);
    expect(lines.filter((l) => l.startsWith('locked '))).toHaveLength(1);
    for (const cut of cuts) {
      expect(at('locked')).toBeLessThan(cut + 1000);
      expect(at('unlocked')).toBeGreaterThanOrEqual(cut);
    }
  });

  it('a claim whose volume cannot be snapshotted fails the group with the cause and leaves no snapshot behind', async () => {
    // A claim bound to a CSI volume node-1's plugin does not have: its snapshot fails on the storage
    // side (the plugin answers NOT_FOUND, a final error). The PV names node-1 as the local class's PVs
    // do, so node-1's csi-snapshotter (distributed snapshotting) is the one that serves it; a PV no
    // snapshotter serves leaves a content only the snapshot-controller's finalizers hold (docs/snapshots.md).
    const pv: PersistentVolume = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${ns}-ghost` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        csi: { driver: localCsiDriver, volumeHandle: `${ns}-no-such-volume` },
        nodeAffinity: {
          required: {
            nodeSelectorTerms: [
              { matchExpressions: [{ key: localTopologyKey, operator: 'In', values: ['node-1'] }] },
            ],
          },
        },
        claimRef: { namespace: ns, name: 'ghost' },
      },
    };
    await api().create(resources.persistentVolumes, pv);
    await api().create(
      resources.persistentVolumeClaims,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'ghost', namespace: ns, labels: { app: 'db', broken: 'yes' } },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: '',
          volumeName: pv.metadata?.name ?? '',
          resources: { requests: { storage: '1Gi' } },
        },
      },
      ns,
    );
    await claimBound(api(), ns, 'ghost', { timeoutMs: 60_000 });
    const before = (await csiSnapshots()).map((s) => s.metadata.name).sort();
    const done = await group('broken', { pvcSelector: { matchLabels: { app: 'db' } } });
    expect(done.status?.status, JSON.stringify(done.status)).toBe('Failed');
    expect(done.status?.conditions?.at(-1)?.type).toBe('Error');
    expect(done.status?.conditions?.at(-1)?.message).toMatch(
      /^group snapshot failed due to err: claim ghost: /,
    );
    // The other three claims' snapshots of this attempt are gone again, with their contents.
    let left: string[] = [];
    await waitFor(
      'no CSI snapshot of the failed group left',
      async () => {
        const now = (await csiSnapshots()).map((s) => s.metadata.name).sort();
        left = now.filter((name) => !before.includes(name)).map((name) => name ?? '');
        return JSON.stringify(now) === JSON.stringify(before) || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; left: ${left.join(', ')}`, { cause: error });
    });
    const members = (await api().list<VolumeSnapshot>(resources.volumeSnapshots, ns)).items.filter(
      (s) => s.metadata.labels?.[groupUidLabel] === done.metadata.uid,
    );
    expect(members).toEqual([]);
  }, 300_000);

  it('deleting a group deletes its member snapshots and their CSI snapshots', async () => {
    const group = await api().get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, {
      namespace: ns,
      name: 'consistent',
    });
    const names = new Set((group.status?.volumeSnapshots ?? []).map((v) => v.TaskID));
    expect(names.size).toBe(3);
    await api().delete(resources.groupVolumeSnapshots, { namespace: ns, name: 'consistent' });
    await waitFor(
      'the members and their CSI snapshots gone',
      async () => {
        const members = (await api().list<VolumeSnapshot>(resources.volumeSnapshots, ns)).items.filter(
          (s) => s.metadata.labels?.[groupUidLabel] === group.metadata.uid,
        );
        const left = (await csiSnapshots()).filter((s) => names.has(s.metadata.name));
        return members.length === 0 && left.length === 0 ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
  });
});

/**
 * The same on the Portworx simulator (pxd): the group's per-volume snapshots, and a member restored
 * through stork-snapshot-sc like any snapshot.
 */
describe('group snapshots on pxd', () => {
  const ctx = useStorkBox({ box: { nodes: [{ name: 'node-1' }, { name: 'node-2' }] } });
  const api = () => ctx.box.api;
  const state = () => ctx.storage.simulator.state;
  let ns = '';

  beforeAll(async () => {
    await applyManifests(
      api(),
      await readFile(new URL('../../specs/stork-snapshot-sc.yaml', import.meta.url), 'utf8'),
      'default',
    );
    // The seed's px-mysql-sc StorageClass (and its claim, unused here).
    await applyManifests(
      api(),
      await readFile(new URL('../../examples/mysql.yaml', import.meta.url), 'utf8'),
      'default',
    );
    ns = await createTestNamespace(api(), 'pxgroup');
    for (const name of ['p1', 'p2']) {
      await api().create<PersistentVolumeClaim>(
        resources.persistentVolumeClaims,
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name, namespace: ns, labels: { app: 'pg' } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: 'px-mysql-sc',
            resources: { requests: { storage: '1Gi' } },
          },
        },
        ns,
      );
    }
    await api().create(resources.pods, testPod('pg', { schedulerName: 'stork', claims: ['p1', 'p2'] }), ns);
    await waitForPod(api(), ns, 'pg', isRunning, 90_000);
  }, 600_000);

  it('snapshots both volumes in one call of the storage system, and a member restores through stork-snapshot-sc', async () => {
    await api().create<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      {
        apiVersion: 'stork.libopenstorage.org/v1alpha1',
        kind: 'GroupVolumeSnapshot',
        metadata: { name: 'pg-group' },
        spec: { pvcSelector: { matchLabels: { app: 'pg' } } },
      },
      ns,
    );
    const done = await waitFor(
      'the pxd group Final',
      async () => {
        const g = await api().get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, {
          namespace: ns,
          name: 'pg-group',
        });
        return g.status?.stage === 'Final' ? g : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    expect(done.status?.status, JSON.stringify(done.status)).toBe('Successful');
    const uid = done.metadata.uid ?? '';
    // Cut by the storage system in one call (its REST API): it named both, with one group number.
    const taken = state()
      .volumes()
      .filter((v) => v.snapshot && v.labels['kubernetes.io/created-for/snapshot/uid'] === uid);
    expect(taken).toHaveLength(2);
    const groupNumbers = new Set(taken.map((t) => /\.group-snap-(\d+)$/.exec(t.name)?.[1]));
    expect([...groupNumbers], taken.map((t) => t.name).join(', ')).toHaveLength(1);
    expect(groupNumbers.has(undefined)).toBe(false);
    expect(
      state()
        .volumes()
        .filter((v) => v.name.startsWith('group-snapshot-')),
    ).toEqual([]);

    const member = `pg-group-p1-${uid}`;
    await api().create<PersistentVolumeClaim>(
      resources.persistentVolumeClaims,
      {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: 'p1-restored',
          namespace: ns,
          annotations: { 'snapshot.alpha.kubernetes.io/snapshot': member },
        },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName: 'stork-snapshot-sc',
          resources: { requests: { storage: '1Gi' } },
        },
      },
      ns,
    );
    const restored = await claimBound(api(), ns, 'p1-restored', { timeoutMs: 60_000, intervalMs: 200 });
    const pv = await api().get<PersistentVolume>(resources.persistentVolumes, {
      name: restored.spec?.volumeName ?? '',
    });
    const volume = state().requireVolume(pv.spec?.csi?.volumeHandle ?? '');
    const p1Snapshot = done.status?.volumeSnapshots?.find((v) => v.VolumeSnapshotName === member);
    expect(taken.map((t) => t.id)).toContain(volume.parentId);
    expect(taken.find((t) => t.id === volume.parentId)?.name).toBe(p1Snapshot?.TaskID);

    // Deleting the group deletes both storage snapshots (the restore is Bound: nothing waits).
    await api().delete(resources.groupVolumeSnapshots, { namespace: ns, name: 'pg-group' });
    await waitFor(
      "the group's storage snapshots gone",
      () =>
        Promise.resolve(
          state()
            .volumes()
            .filter((v) => v.snapshot && v.labels['kubernetes.io/created-for/snapshot/uid'] === uid)
            .length === 0 || undefined,
        ),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });
});
