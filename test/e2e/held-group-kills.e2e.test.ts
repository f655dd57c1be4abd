import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BoxCsi, localCsiDriver, localTopologyKey } from '../../src/box/csi/box-csi.js';
import { groupSnapshotUidLabel } from '../../src/controllers/group-snapshot/names.js';
import { rulesInFlightAnnotation } from '../../src/controllers/snapshot/rules-in-flight.js';
import { storkSnapshotLabel, type CsiVolumeSnapshot } from '../../src/drivers/csi/csi-snapshots.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { Pod } from '../../src/wire/k8s-types.js';
import {
  archivedTable,
  claimBound,
  boundVolume,
  listCsiSnapshots,
  localClaim,
  snapshotArchive,
  tableFile,
  writeTable,
  contentsOfSnapshot,
} from './csi-fixtures.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { dbCommand as command, ruleCreator } from './rule-fixtures.js';
import { markersIn, useKillBox, type Markers, finalOnFirstAttempt, killedGroup } from './stork-kills.js';

/*
 * Issue #17 for the held fallback: a GroupVolumeSnapshot of three claims whose CSI driver (the box's
 * local plugin) has no VolumeGroupSnapshotClass, so stork cuts one CSI VolumeSnapshot per claim while one
 * background pre rule holds, then runs the post rule; stork SIGKILLed between the claims' cuts and in the
 * post rule, and a new stork started. Each window is made, not raced: claims a and b live on node-1, c
 * on node-2, whose csi-snapshotter is paused (a and b cut, c made and not cut), or the post rule's
 * command blocks until a file the test writes. The group ends Successful once, on exactly one CSI
 * snapshot (and content) per claim, none of the interrupted attempt's, and the rules' markers and the
 * archives' bytes say what docs/snapshots.md promises ("Restarts in the middle of rules").
 */

const claimNodes = { a: 'node-1', b: 'node-1', c: 'node-2' } as const;
type Claim = keyof typeof claimNodes;
const claimNames = Object.keys(claimNodes) as Claim[];
const gib = 2 ** 30;

describe('a held-fallback group snapshot with stork SIGKILLed between its cuts and in its rules', () => {
  const { api, csi, stork, workDir } = useKillBox({
    nodes: ['node-1', 'node-2'],
    csiDrivers: [localCsiDriver],
    startCsi: (box) =>
      BoxCsi.start(box, {
        nodes: [
          { name: 'node-1', capacityBytes: 8 * gib },
          { name: 'node-2', capacityBytes: 8 * gib },
        ],
        snapshots: true,
      }),
    served: resources.groupVolumeSnapshots,
    workDirPrefix: 'stork-heldkills-',
  });
  let ns = '';
  const rule = ruleCreator(api, () => ns);

  /** A namespace with claims a, b (pod `db`, app=db, on node-1) and c (pod `db-c`, on node-2). */
  interface Case extends Markers {
    /** Each claim's table file ("data <claim>" at first). */
    readonly tables: ReadonlyMap<Claim, string>;
    /** A command appending `word` to every table, then marking it. */
    write(word: string): string;
  }

  /** A pod of the default scheduler (stork may be down) on `node`, with the claims. */
  const podOn = (name: string, node: string, claims: readonly Claim[]): Pod => {
    const pod = testPod(name, { claims });
    return {
      ...pod,
      spec: {
        ...pod.spec,
        containers: pod.spec?.containers ?? [],
        nodeSelector: { [localTopologyKey]: node },
      },
    };
  };

  async function newCase(name: string): Promise<Case> {
    ns = await createTestNamespace(api(), `heldkill-${name}`);
    for (const claim of claimNames)
      await api().create(resources.persistentVolumeClaims, localClaim(ns, claim, { app: 'db' }), ns);
    // The rules run in pod db (app=db) alone; db-c only places claim c on node-2.
    await api().create(resources.pods, podOn('db', 'node-1', ['a', 'b']), ns);
    await api().create(resources.pods, podOn('db-c', 'node-2', ['c']), ns);
    for (const pod of ['db', 'db-c']) await waitForPod(api(), ns, pod, isRunning, 120_000);
    const tables = new Map<Claim, string>();
    for (const claim of claimNames) {
      await claimBound(api(), ns, claim, { timeoutMs: 120_000, intervalMs: 250 });
      const pv = await boundVolume(api(), ns, claim);
      const dir =
        csi()
          ?.plugins.get(claimNodes[claim])
          ?.dataDir(pv.spec?.csi?.volumeHandle ?? '') ?? '';
      await writeTable(dir, `data ${claim}\n`);
      tables.set(claim, join(dir, tableFile));
    }
    const markers = await markersIn(join(workDir, name));
    return {
      ...markers,
      tables,
      write: (word) =>
        `${[...tables.values()].map((t) => `echo ${word} >> ${t}`).join('; ')}; ${markers.mark(word)}`,
    };
  }

  const killed = killedGroup(api, () => ns);
  /** The group, its pre rule one background command (`pre`, then held), its post rule `post`. */
  const createGroup = async (pre: string, post: string): Promise<void> =>
    killed.create(await rule([command(`${pre}; \${WAIT_CMD}`, true)]), await rule([command(post)]));
  const group = killed.read;

  /** The group's per-claim CSI snapshots, by claim. */
  const csiSnapshots = async (): Promise<Map<string, CsiVolumeSnapshot>> =>
    new Map(
      (await listCsiSnapshots(api(), ns))
        .filter((s) => (s.metadata.labels?.[storkSnapshotLabel] ?? '').startsWith('group-snapshot-'))
        .map((s) => [s.spec.source.persistentVolumeClaimName ?? '', s]),
    );
  const contentsOf = (name: string) => contentsOfSnapshot(api(), ns, name);

  /** What the interrupted attempt cut: each CSI snapshot's UID and its storage snapshot (the archive). */
  async function firstAttempt(): Promise<{ uids: Set<string>; archives: string[] }> {
    const uids = new Set<string>();
    const archives: string[] = [];
    for (const [claim, s] of await csiSnapshots()) {
      uids.add(s.metadata.uid ?? '');
      const [content] = await contentsOf(s.metadata.name ?? '');
      const handle = content?.status?.snapshotHandle;
      if (handle) archives.push(snapshotArchive(csi(), handle, claimNodes[claim as Claim]));
    }
    return { uids, archives };
  }

  /**
   * The group ended Successful, without its record, on exactly one CSI snapshot per claim (ready, none
   * of `first`'s, and one content each once the discarded ones are gone, their storage snapshots
   * deleted), each archive holding `archived`, and three seed-API members Ready on them.
   */
  async function successfulOnce(
    first: { uids: ReadonlySet<string>; archives: readonly string[] },
    archived: (claim: Claim) => string,
  ): Promise<void> {
    const done = await finalOnFirstAttempt(group);
    const uid = done.metadata.uid ?? '';
    await waitFor(
      'one CSI snapshot and one content per claim',
      async () => {
        const snaps = await listCsiSnapshots(api(), ns);
        if (snaps.length !== claimNames.length) return undefined;
        for (const s of snaps) if ((await contentsOf(s.metadata.name ?? '')).length !== 1) return undefined;
        return true;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
    const snaps = await csiSnapshots();
    expect([...snaps.keys()].sort()).toEqual(claimNames);
    for (const claim of claimNames) {
      const s = snaps.get(claim) as CsiVolumeSnapshot;
      expect(s.status?.readyToUse).toBe(true);
      expect(s.metadata.deletionTimestamp).toBeUndefined();
      expect(first.uids.has(s.metadata.uid ?? '')).toBe(false);
      const [content] = await contentsOf(s.metadata.name ?? '');
      expect(content?.metadata.name).toBe(s.status?.boundVolumeSnapshotContentName);
      const { table } = await archivedTable(
        api(),
        csi(),
        join(workDir, ns),
        content?.metadata.name ?? '',
        claimNodes[claim],
      );
      expect(table, claim).toBe(archived(claim));
    }
    // The storage snapshots the interrupted attempt cut were deleted with their contents.
    for (const archive of first.archives) expect(existsSync(archive), archive).toBe(false);
    const entries = done.status?.volumeSnapshots ?? [];
    expect(entries.map((e) => e.VolumeSnapshotName)).toEqual(claimNames.map((c) => `group-${c}-${uid}`));
    expect(entries.map((e) => e.TaskID)).toEqual(claimNames.map((c) => snaps.get(c)?.metadata.name));
    for (const claim of claimNames) {
      const member = await api().get<VolumeSnapshot>(resources.volumeSnapshots, {
        namespace: ns,
        name: `group-${claim}-${uid}`,
      });
      expect(member.metadata.labels?.[groupSnapshotUidLabel]).toBe(uid);
      expect(member.status?.conditions?.at(-1)?.type).toBe('Ready');
      const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
        name: member.spec.snapshotDataName ?? '',
      });
      expect(data.spec.csiSnapshot?.name).toBe(snaps.get(claim)?.metadata.name);
    }
    const seeds = (await api().list<VolumeSnapshot>(resources.volumeSnapshots, ns)).items;
    expect(seeds).toHaveLength(claimNames.length);
    expect(stork.current()?.refusals).toEqual([]);
  }

  it('a. killed between the claims’ cuts: the next stork undoes the pre rule, discards every cut, takes the group once', async () => {
    const c = await newCase('a');
    const takenBefore = (node: string) => csi()?.plugins.get(node)?.snapshotsTaken ?? 0;
    const before = { 'node-1': takenBefore('node-1'), 'node-2': takenBefore('node-2') };
    // node-2's csi-snapshotter paused: c's CSI snapshot and content are made, nothing cuts them.
    await csi()?.pause('csi-snapshotter-node-2');
    let first: Awaited<ReturnType<typeof firstAttempt>> | undefined;
    try {
      await createGroup(c.write('pre'), c.write('post'));
      await waitFor(
        'a and b cut, c made and not cut',
        async () => {
          const snaps = await csiSnapshots();
          const cut = (claim: Claim) => snaps.get(claim)?.status?.creationTime !== undefined;
          return cut('a') && cut('b') && snaps.get('c')?.status?.boundVolumeSnapshotContentName
            ? true
            : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      expect((await csiSnapshots()).get('c')?.status?.creationTime).toBeUndefined();
      const interrupted = await group();
      expect(interrupted.status?.stage).toBe('Snapshot');
      expect(interrupted.metadata.annotations?.[rulesInFlightAnnotation]).toBe(
        '{"pre":"running","cut":false}',
      );
      expect(c.lines()).toEqual(['pre']);
      await stork.kill(async () => {
        // c is cut now, without the pre rule's hold: the next stork must not adopt it (nor a, b).
        await csi()?.resume('csi-snapshotter-node-2');
        await waitFor('the old c cut', async () => (await csiSnapshots()).get('c')?.status?.creationTime, {
          timeoutMs: 60_000,
          intervalMs: 100,
        });
        first = await firstAttempt();
      });
    } finally {
      await csi()
        ?.resume('csi-snapshotter-node-2')
        .catch(() => undefined);
    }
    expect(first?.uids.size).toBe(3);
    expect(first?.archives).toHaveLength(3);
    // The interrupted pre rule is undone by the post rule first, then the group taken again, in full, once.
    await successfulOnce(
      first ?? { uids: new Set(), archives: [] },
      (claim) => `data ${claim}\npre\npost\npre\n`,
    );
    expect(c.lines()).toEqual(['pre', 'post', 'pre', 'post']);
    for (const [claim, table] of c.tables)
      expect(await readFile(table, 'utf8')).toBe(`data ${claim}\npre\npost\npre\npost\n`);
    // Each claim cut twice in all: once per attempt.
    expect(takenBefore('node-1') - before['node-1']).toBe(4);
    expect(takenBefore('node-2') - before['node-2']).toBe(2);
  }, 420_000);

  it('b. killed after every cut, in the post rule: the next stork runs it, discards the cuts, takes the group again', async () => {
    const c = await newCase('b');
    await createGroup(c.write('pre'), c.blocking('post', c.write('post')));
    await c.seen('post-started');
    expect((await group()).metadata.annotations?.[rulesInFlightAnnotation]).toBe('{"pre":"done","cut":true}');
    const cut = await csiSnapshots();
    expect([...cut.keys()].sort()).toEqual(claimNames);
    for (const s of cut.values()) expect(s.status?.creationTime).toBeDefined();
    const first = await firstAttempt();
    await stork.kill(c.go);
    // The cuts were not listed in the group's status yet: discarded, not adopted; the post rule left to
    // run runs first, once, and the group is taken again.
    await successfulOnce(first, (claim) => `data ${claim}\npre\npost\npre\n`);
    expect(c.lines()).toEqual(['pre', 'post-started', 'post-started', 'post', 'pre', 'post-started', 'post']);
    for (const [claim, table] of c.tables)
      expect(await readFile(table, 'utf8')).toBe(`data ${claim}\npre\npost\npre\npost\n`);
  }, 420_000);
});
