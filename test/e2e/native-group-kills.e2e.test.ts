import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoxCsi, networkCsiDriver, networkStorageClass } from '../../src/box/csi/box-csi.js';
import { groupSnapshotUidLabel } from '../../src/controllers/group-snapshot/names.js';
import { rulesInFlightAnnotation } from '../../src/controllers/snapshot/rules-in-flight.js';
import {
  csiGroupSnapshotResources,
  type CsiVolumeGroupSnapshot,
} from '../../src/drivers/csi/csi-group-snapshots.js';
import { csiSnapshotResources, type CsiVolumeSnapshot } from '../../src/drivers/csi/csi-snapshots.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { claimBound, tableFile } from './csi-fixtures.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { dbCommand as command, ruleCreator } from './rule-fixtures.js';
import { markersIn, useKillBox, type Markers, finalOnFirstAttempt, killedGroup } from './stork-kills.js';

/*
 * Issue #17 for groups: stork, a real process on the box's network CSI plugin with native
 * VolumeGroupSnapshots, SIGKILLed while a GroupVolumeSnapshot's rules run, and a new stork started. Each
 * window is made, not raced: a rule's command blocks until a file the test writes. The group ends
 * Successful once, on one VolumeGroupSnapshot with one member snapshot per claim, and the rules' markers
 * say what docs/snapshots.md promises ("Restarts in the middle of rules").
 */

const claimNames = ['a', 'b', 'c'];

describe('a native group snapshot with stork SIGKILLed in its rules', () => {
  const { api, csi, stork, workDir } = useKillBox({
    nodes: ['node-1'],
    csiDrivers: [networkCsiDriver],
    startCsi: (box) =>
      BoxCsi.start(box, { nodes: [{ name: 'node-1', capacityBytes: 8 * 2 ** 30 }], groupSnapshots: true }),
    served: resources.groupVolumeSnapshots,
    workDirPrefix: 'stork-groupkills-',
  });
  let ns = '';
  const rule = ruleCreator(api, () => ns);
  const network = () => csi()?.plugins.get('network');

  /** A namespace with claims a, b, c (app=db; table "data <claim>") used by pod `db`. */
  interface Case extends Markers {
    /** Each claim's table file. */
    readonly tables: readonly string[];
    /** A command appending `word` to every table, then marking it. */
    write(word: string): string;
  }

  async function newCase(name: string): Promise<Case> {
    ns = await createTestNamespace(api(), `groupkill-${name}`);
    for (const claim of claimNames) {
      await api().create<PersistentVolumeClaim>(
        resources.persistentVolumeClaims,
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: claim, namespace: ns, labels: { app: 'db' } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: networkStorageClass,
            resources: { requests: { storage: '1Gi' } },
          },
        },
        ns,
      );
      await claimBound(api(), ns, claim, { timeoutMs: 120_000, intervalMs: 250 });
    }
    // The default scheduler: stork may be down.
    await api().create(resources.pods, testPod('db', { labels: { app: 'db' }, claims: claimNames }), ns);
    await waitForPod(api(), ns, 'db', isRunning, 120_000);
    const tables: string[] = [];
    for (const claim of claimNames) {
      const pvc = await api().get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
        namespace: ns,
        name: claim,
      });
      const pv = await api().get<PersistentVolume>(resources.persistentVolumes, {
        name: pvc.spec?.volumeName ?? '',
      });
      const dir = network()?.dataDir(pv.spec?.csi?.volumeHandle ?? '') ?? '';
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, tableFile), `data ${claim}\n`);
      tables.push(join(dir, tableFile));
    }
    const markers = await markersIn(join(workDir, name));
    return {
      ...markers,
      tables,
      write: (word) => `${tables.map((t) => `echo ${word} >> ${t}`).join('; ')}; ${markers.mark(word)}`,
    };
  }

  const killed = killedGroup(api, () => ns);
  /** The group, its pre rule `pre`, its post rule `post`. */
  const createGroup = async (pre: string, post: string): Promise<void> =>
    killed.create(await rule([command(pre)]), await rule([command(post)]));
  const group = killed.read;
  const groupSnapshots = async () =>
    (await api().list<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, ns)).items;

  /**
   * The group ended Successful, without its record, on exactly one VolumeGroupSnapshot (ready, three
   * member CSI snapshots, one per claim, once any discarded one is gone) and three seed-API members.
   * `before`: the storage's group snapshots before the case. Resolves to the VolumeGroupSnapshot.
   */
  async function successfulOnce(before: ReadonlySet<string>): Promise<CsiVolumeGroupSnapshot> {
    const done = await finalOnFirstAttempt(group);
    const uid = done.metadata.uid ?? '';
    const vgsName = `stork-group-${uid}`;
    await waitFor(
      'one VolumeGroupSnapshot, three member snapshots, one group snapshot in the storage',
      async () => {
        const groups = await groupSnapshots();
        const members = (
          await api().list<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ns)
        ).items.filter((s) =>
          (s.metadata.ownerReferences ?? []).some((o) => o.kind === 'VolumeGroupSnapshot'),
        );
        const cut = [...(network()?.groupSnapshotIds().keys() ?? [])].filter((id) => !before.has(id));
        return groups.length === 1 && members.length === 3 && cut.length === 1 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const [only] = await groupSnapshots();
    expect(only?.metadata.name).toBe(vgsName);
    expect(only?.status?.readyToUse).toBe(true);
    const members = (await api().list<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ns)).items;
    expect(members.map((m) => m.spec.source.persistentVolumeClaimName).sort()).toEqual(claimNames);
    expect(members.every((m) => m.metadata.ownerReferences?.[0]?.uid === only?.metadata.uid)).toBe(true);
    const seeds = (await api().list<VolumeSnapshot>(resources.volumeSnapshots, ns)).items.filter(
      (s) => s.metadata.labels?.[groupSnapshotUidLabel] === uid,
    );
    expect(seeds.map((s) => s.metadata.name).sort()).toEqual(claimNames.map((c) => `group-${c}-${uid}`));
    for (const s of seeds) expect(s.status?.conditions?.at(-1)?.type).toBe('Ready');
    expect(stork.current()?.refusals).toEqual([]);
    return only as CsiVolumeGroupSnapshot;
  }

  it('a. killed while the pre rule runs: the next stork undoes it with the post rule, then takes the group once', async () => {
    const c = await newCase('a');
    const taken = network()?.groupSnapshotsTaken ?? 0;
    const before = new Set(network()?.groupSnapshotIds().keys() ?? []);
    await createGroup(c.blocking('pre', c.write('pre')), c.write('post'));
    await c.seen('pre-started');
    expect((await group()).metadata.annotations?.[rulesInFlightAnnotation]).toBe(
      '{"pre":"running","cut":false}',
    );
    expect(await groupSnapshots()).toEqual([]);
    await stork.kill(c.go);
    await successfulOnce(before);
    // The interrupted pre rule is undone by the post rule first (best-effort), then the group is taken
    // again from its pre rule, in full, once.
    expect(c.lines()).toEqual(['pre-started', 'post', 'pre-started', 'pre', 'post']);
    expect(network()?.groupSnapshotsTaken).toBe(taken + 1);
    for (const [i, table] of c.tables.entries())
      expect(await readFile(table, 'utf8')).toBe(`data ${claimNames[i] ?? ''}\npost\npre\npost\n`);
  }, 420_000);

  it('b. killed after the cut, in the post rule: the next stork runs it, discards the cut, takes the group again', async () => {
    const c = await newCase('b');
    const taken = network()?.groupSnapshotsTaken ?? 0;
    const before = new Set(network()?.groupSnapshotIds().keys() ?? []);
    await createGroup(c.write('pre'), c.blocking('post', c.write('post')));
    await c.seen('post-started');
    expect((await group()).metadata.annotations?.[rulesInFlightAnnotation]).toBe('{"pre":"done","cut":true}');
    const [cut] = await groupSnapshots();
    expect(cut?.metadata.name).toBe(`stork-group-${(await group()).metadata.uid ?? ''}`);
    await stork.kill(c.go);
    const only = await successfulOnce(before);
    // The cut was not listed in the group's status: it is discarded, not adopted, and the group is taken
    // again (the post rule left to run first, once).
    expect(only.metadata.uid).not.toBe(cut?.metadata.uid);
    expect(c.lines()).toEqual(['pre', 'post-started', 'post-started', 'post', 'pre', 'post-started', 'post']);
    expect(network()?.groupSnapshotsTaken).toBe(taken + 2);
    for (const [i, table] of c.tables.entries())
      expect(await readFile(table, 'utf8')).toBe(`data ${claimNames[i] ?? ''}\npre\npost\npre\npost\n`);
  }, 420_000);
});
