import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localCsiDriver } from '../../src/box/csi/box-csi.js';
import { restoreClaim } from '../../src/cli/pvc.js';
import { csiRestoreName, restoreForUidLabel } from '../../src/controllers/snapshot/csi-restore.js';
import { rulesInFlightAnnotation } from '../../src/controllers/snapshot/rules-in-flight.js';
import { csiSnapshotResources, type CsiVolumeSnapshot } from '../../src/drivers/csi/csi-snapshots.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { getOrUndefined } from '../../src/k8s/errors.js';
import { resources } from '../../src/k8s/paths.js';
import { retryOnConflict } from '../../src/k8s/retry.js';
import { waitFor } from '../../src/lib/wait.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import {
  archivedTable,
  claimBound,
  claimDir,
  listCsiSnapshots,
  localClaim,
  snapshotSettled,
  startNodeCsi,
  tableFile,
  writeTable,
  contentsOfSnapshot,
} from './csi-fixtures.js';
import { applyManifests, createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { dbCommand as command, ruleCreator } from './rule-fixtures.js';
import { markersIn, useKillBox, type Markers } from './stork-kills.js';

/*
 * Issue #17: stork SIGKILLed between each pair of steps of a CSI snapshot and of its restore, a new stork
 * started; the snapshot completes once, with no duplicate. Stork runs as a real process (its own entry
 * point, the shipped ServiceAccount's RBAC), on the box's local CSI plugin and the upstream sidecars.
 * Each window is made, not raced: a rule's command blocks (until a file the test writes), a sidecar
 * is paused, or the plugin holds a cut snapshot back from ready, and the test kills stork while it waits
 * there. KWOK runs a pod's exec on this host, so the
 * rules write marker lines in a file of the test and into the volume's directory.
 */

const preRule = 'stork.libopenstorage.org/pre-snapshot-rule';
const postRule = 'stork.libopenstorage.org/post-snapshot-rule';

describe('a CSI snapshot and its restore with stork SIGKILLed between steps', () => {
  const { api, csi, stork, workDir } = useKillBox({
    nodes: ['node-1'],
    csiDrivers: [localCsiDriver],
    startCsi: startNodeCsi,
    served: resources.volumeSnapshots,
    workDirPrefix: 'stork-csikills-',
    setup: async (api) =>
      applyManifests(
        api,
        await readFile(new URL('../../specs/stork-snapshot-sc.yaml', import.meta.url), 'utf8'),
        'default',
      ),
  });
  let ns = '';
  const rule = ruleCreator(api, () => ns);
  const killStork = (between?: () => Promise<void>) => stork.kill(between);

  /** What each test works on: a namespace with claim `data` (table "data") used by pod `db`. */
  interface Case extends Markers {
    readonly table: string;
  }

  async function newCase(name: string): Promise<Case> {
    ns = await createTestNamespace(api(), `csikill-${name}`);
    await api().create(resources.persistentVolumeClaims, localClaim(ns, 'data'), ns);
    // The default scheduler: stork may be down, and the claim's node is chosen for this pod.
    await api().create(resources.pods, testPod('db', { labels: { app: 'db' }, claims: ['data'] }), ns);
    await waitForPod(api(), ns, 'db', isRunning, 120_000);
    const dir = await claimDir(api(), csi(), ns, 'data');
    await writeTable(dir, 'data\n');
    return { ...(await markersIn(join(workDir, name))), table: join(dir, tableFile) };
  }

  /** Snapshot `snap` of claim `data`, with a pre and a post rule of one command each. */
  async function takeSnapshot(pre: string, post: string): Promise<VolumeSnapshot> {
    const annotations = { [preRule]: await rule([command(pre)]), [postRule]: await rule([command(post)]) };
    return api().create<VolumeSnapshot>(
      resources.volumeSnapshots,
      {
        apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'snap', annotations },
        spec: { persistentVolumeClaimName: 'data' },
      },
      ns,
    );
  }
  const seed = () => api().get<VolumeSnapshot>(resources.volumeSnapshots, { namespace: ns, name: 'snap' });
  const seen = (c: Case, line: string) => c.seen(line);
  const count = (c: Case, line: string) => c.count(line);
  const contentsOf = (name: string) => contentsOfSnapshot(api(), ns, name);

  /**
   * The snapshot ended Ready, on exactly one CSI VolumeSnapshot (`snapshot-<uid>`, ready) and, once
   * external-snapshotter has deleted any discarded one's, one content; its archive holds `archived`.
   * Resolves to the CSI snapshot.
   */
  async function readyOnce(archived: string): Promise<CsiVolumeSnapshot> {
    const snap = await snapshotSettled(api(), ns, 'snap');
    expect(snap.status?.conditions?.at(-1), JSON.stringify(snap.status)).toMatchObject({ type: 'Ready' });
    expect(snap.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
    const name = `snapshot-${snap.metadata.uid ?? ''}`;
    const csiSnapshots = await listCsiSnapshots(api(), ns);
    expect(csiSnapshots.map((s) => s.metadata.name)).toEqual([name]);
    const [only] = csiSnapshots;
    expect(only?.status?.readyToUse).toBe(true);
    const contentName = only?.status?.boundVolumeSnapshotContentName ?? '';
    await waitFor(
      'one content for the snapshot',
      async () => (await contentsOf(name)).length === 1 || undefined,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    expect((await contentsOf(name)).map((c) => c.metadata.name)).toEqual([contentName]);
    const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
      name: snap.spec.snapshotDataName ?? '',
    });
    expect(data.spec.csiSnapshot).toMatchObject({
      namespace: ns,
      name,
      volumeSnapshotContentName: contentName,
    });
    const { table } = await archivedTable(api(), csi(), workDir, contentName);
    expect(table).toBe(archived);
    return only as CsiVolumeSnapshot;
  }

  it('a. killed while the pre rule runs: the next stork undoes it with the post rule, runs it again, cuts once', async () => {
    const c = await newCase('a');
    await takeSnapshot(
      c.blocking('pre', `echo pre >> ${c.table}; ${c.mark('pre')}`),
      `echo post >> ${c.table}; ${c.mark('post')}`,
    );
    await seen(c, 'pre-started');
    expect((await seed()).metadata.annotations?.[rulesInFlightAnnotation]).toBe(
      '{"pre":"running","cut":false}',
    );
    expect(await listCsiSnapshots(api(), ns)).toEqual([]);
    await killStork(c.go);
    await readyOnce('data\npost\npre\n');
    // The interrupted pre rule is undone by the post rule first (best-effort), then run again, in full, once.
    expect(c.lines()).toEqual(['pre-started', 'post', 'pre-started', 'pre', 'post']);
    expect(await readFile(c.table, 'utf8')).toBe('data\npost\npre\npost\n');
  }, 300_000);

  it('b. killed after the CSI snapshot was made, before the cut: it is discarded and the snapshot taken again', async () => {
    const c = await newCase('b');
    // The node's csi-snapshotter paused: the CSI snapshot and its content exist, nothing cuts them.
    await csi()?.pause('csi-snapshotter-node-1');
    const hold = 'csikills.test/hold';
    let oldUid: string | undefined;
    try {
      const created = await takeSnapshot(
        `echo pre >> ${c.table}; ${c.mark('pre')}`,
        `echo post >> ${c.table}; ${c.mark('post')}`,
      );
      const name = `snapshot-${created.metadata.uid ?? ''}`;
      const uncut = await waitFor(
        'the CSI snapshot made and bound to a content',
        async () => {
          const [s] = await listCsiSnapshots(api(), ns);
          return s?.status?.boundVolumeSnapshotContentName ? s : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(uncut.metadata.name).toBe(name);
      expect(uncut.status?.creationTime).toBeUndefined();
      oldUid = uncut.metadata.uid ?? '';
      expect(c.lines()).toEqual(['pre']);
      await killStork(async () => {
        // The old one is cut now, without the pre rule's hold; the test's own finalizer keeps it in its
        // deletion for as long as external-snapshotter could, so that the new stork meets it there.
        await api().patch(
          csiSnapshotResources.volumeSnapshots,
          { namespace: ns, name },
          {
            metadata: { finalizers: [...(uncut.metadata.finalizers ?? []), hold] },
          },
        );
        await csi()?.resume('csi-snapshotter-node-1');
        await waitFor(
          'the old CSI snapshot cut',
          async () => (await listCsiSnapshots(api(), ns))[0]?.status?.creationTime,
          { timeoutMs: 60_000, intervalMs: 100 },
        );
      });
      // The new stork runs the post rule (the pre rule's undo), discards it and runs the pre rule again;
      // while the old one is still being deleted, it is not adopted: no post rule after it, no Ready.
      await waitFor('the pre rule run again', () => count(c, 'pre') === 2, {
        timeoutMs: 90_000,
        intervalMs: 50,
      });
      const deleting = await getOrUndefined(() =>
        api().get<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, { namespace: ns, name }),
      );
      expect(deleting?.metadata.deletionTimestamp).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(c.lines()).toEqual(['pre', 'post', 'pre']);
      expect((await seed()).status?.conditions?.at(-1)?.type).toBe('Pending');
    } finally {
      await releaseHold(hold);
      await csi()
        ?.resume('csi-snapshotter-node-1')
        .catch(() => undefined);
    }
    const taken = await readyOnce('data\npre\npost\npre\n');
    expect(taken.metadata.uid).not.toBe(oldUid);
    expect(c.lines()).toEqual(['pre', 'post', 'pre', 'post']);
  }, 300_000);

  /** Takes the test's finalizer off every CSI snapshot of the namespace. */
  async function releaseHold(hold: string): Promise<void> {
    for (const s of await listCsiSnapshots(api(), ns)) {
      const ref = { namespace: ns, name: s.metadata.name ?? '' };
      await retryOnConflict(async () => {
        const now = await api().get<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ref);
        const finalizers = now.metadata.finalizers ?? [];
        if (!finalizers.includes(hold)) return;
        await api().patch(csiSnapshotResources.volumeSnapshots, ref, {
          metadata: {
            resourceVersion: now.metadata.resourceVersion,
            finalizers: finalizers.filter((f) => f !== hold),
          },
        });
      });
    }
  }

  it('c. killed after the cut, in the post rule: the next stork runs it once more and adopts the cut', async () => {
    const c = await newCase('c');
    await takeSnapshot(
      `echo pre >> ${c.table}; ${c.mark('pre')}`,
      c.blocking('post', `echo post >> ${c.table}; ${c.mark('post')}`),
    );
    await seen(c, 'post-started');
    expect((await seed()).metadata.annotations?.[rulesInFlightAnnotation]).toBe('{"pre":"done","cut":true}');
    const [cut] = await listCsiSnapshots(api(), ns);
    expect(cut?.status?.creationTime).toBeDefined();
    await killStork(c.go);
    const taken = await readyOnce('data\npre\n');
    expect(taken.metadata.uid).toBe(cut?.metadata.uid);
    // The post rule's run after the cut completed exactly once (the killed run never did its work).
    expect(c.lines()).toEqual(['pre', 'post-started', 'post-started', 'post']);
    expect(await readFile(c.table, 'utf8')).toBe('data\npre\npost\n');
  }, 300_000);

  it('d. killed after the post rule, before the CSI snapshot is ready: the next stork adopts it, no rule runs', async () => {
    const c = await newCase('d');
    // The plugin cuts the snapshot (creation_time) and holds back ready_to_use until released.
    const plugin = csi()?.plugins.get('node-1');
    plugin?.holdReadiness();
    let cut: CsiVolumeSnapshot | undefined;
    try {
      await takeSnapshot(
        `echo pre >> ${c.table}; ${c.mark('pre')}`,
        `echo post >> ${c.table}; ${c.mark('post')}`,
      );
      await seen(c, 'post');
      await waitFor(
        'the record of rules removed: the post rule is done',
        async () => (await seed()).metadata.annotations?.[rulesInFlightAnnotation] === undefined || undefined,
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      [cut] = await listCsiSnapshots(api(), ns);
      expect(cut?.status?.creationTime).toBeDefined();
      expect(cut?.status?.readyToUse).toBe(false);
      expect((await seed()).status?.conditions?.at(-1)?.type).toBe('Pending');
      await killStork();
      // The new stork adopts the cut CSI snapshot and waits for it: no rule runs again, no other is made.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(c.lines()).toEqual(['pre', 'post']);
      expect((await seed()).status?.conditions?.at(-1)?.type).toBe('Pending');
      expect((await listCsiSnapshots(api(), ns)).map((s) => s.metadata.uid)).toEqual([cut?.metadata.uid]);
    } finally {
      await plugin?.releaseReadiness();
    }
    // csi-snapshotter asks the plugin again with a doubling back-off; a change of the content's
    // annotations has it ask now.
    await api().patch(
      csiSnapshotResources.volumeSnapshotContents,
      { name: cut?.status?.boundVolumeSnapshotContentName ?? '' },
      { metadata: { annotations: { 'csikills.test/ask-again': 'now' } } },
    );
    const taken = await readyOnce('data\npre\n');
    expect(taken.metadata.uid).toBe(cut?.metadata.uid);
    expect(c.lines()).toEqual(['pre', 'post']);
  }, 300_000);

  it('e. killed after the restore claim was made, before its volume: the next stork finishes the restore', async () => {
    // Restores case d's snapshot, in its namespace; the node's provisioner paused holds the volume.
    await csi()?.pause('csi-provisioner-node-1');
    let uid = '';
    try {
      const claim = await api().create<PersistentVolumeClaim>(
        resources.persistentVolumeClaims,
        restoreClaim('restored', ns, { snapshot: 'snap', size: '1Gi' }),
        ns,
      );
      uid = claim.metadata?.uid ?? '';
      const shadow = await waitFor(
        'the restore claim',
        () =>
          getOrUndefined(() =>
            api().get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
              namespace: ns,
              name: csiRestoreName(uid),
            }),
          ),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect(shadow.spec?.dataSourceRef ?? shadow.spec?.dataSource).toMatchObject({ kind: 'VolumeSnapshot' });
      expect(shadow.spec?.volumeName).toBeUndefined();
      await killStork();
      // The new stork meets the restore claim still waiting, and makes no other.
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await restoreClaims(uid)).toEqual([csiRestoreName(uid)]);
    } finally {
      await csi()?.resume('csi-provisioner-node-1');
    }
    await claimBound(api(), ns, 'restored', { timeoutMs: 120_000, intervalMs: 250 });
    const dir = await claimDir(api(), csi(), ns, 'restored');
    expect(await readFile(join(dir, tableFile), 'utf8')).toBe('data\npre\n');
    await waitFor(
      'the restore claim gone',
      async () => (await restoreClaims(uid)).length === 0 || undefined,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    // One volume made for the restore, and no other volume in the namespace but the source's.
    const pvs = (await api().list<PersistentVolume>(resources.persistentVolumes)).items.filter(
      (pv) => pv.spec?.claimRef?.namespace === ns,
    );
    expect(pvs.map((pv) => pv.spec?.claimRef?.name).sort()).toEqual(['data', 'restored']);
    expect(pvs.filter((pv) => pv.metadata?.labels?.[restoreForUidLabel] === uid)).toHaveLength(1);
    expect(stork.current()?.refusals).toEqual([]);
  }, 300_000);

  const restoreClaims = async (uid: string): Promise<string[]> =>
    (
      await api().list<PersistentVolumeClaim>(resources.persistentVolumeClaims, ns, {
        labelSelector: `${restoreForUidLabel}=${uid}`,
      })
    ).items.map((pvc) => pvc.metadata?.name ?? '');
});
