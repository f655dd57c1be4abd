import { mkdtempSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localCsiDriver, localSnapshotClass } from '../../src/box/csi/box-csi.js';
import {
  failCreateSnapshotCodeParameter,
  failCreateSnapshotParameter,
  failCreateSnapshotTimesParameter,
} from '../../src/box/csi/plugin.js';
import { csiSnapshotClassAnnotation, csiSnapshotResources } from '../../src/drivers/csi/csi-snapshots.js';
import type { VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { archivedTable, useCsiSnapshotClaim } from './csi-fixtures.js';
import { dbCommand as command, testRuleTimings } from './rule-fixtures.js';

const markerDir = mkdtempSync(join(tmpdir(), 'stork-csisnap-markers-'));
const logDir = mkdtempSync(join(tmpdir(), 'stork-csisnap-'));

/**
 * Stork's VolumeSnapshot API on CSI storage, with real bytes: the upstream external-snapshotter (sidecar
 * per node, snapshot-controller) over the box's local CSI plugin, whose snapshots are tar archives of the
 * volume's directory. KWOK runs a pod's exec on this host, so a rule's command writes into the volume's
 * directory; what the archive holds is what the volume held when the snapshot was cut.
 */
describe('application-consistent snapshots on CSI storage', () => {
  const suite = useCsiSnapshotClaim('csisnap', { markerDir, ...testRuleTimings });
  const { api, rule, snapshot, settled, csiSnapshots } = suite;

  afterAll(async () => {
    await rm(markerDir, { recursive: true, force: true });
    await rm(logDir, { recursive: true, force: true });
  });

  it('cuts the CSI snapshot between the pre- and post-rule: the archive has the pre marker, not the post one', async () => {
    const table = join(suite.volumeDir, 'table.txt');
    const pre = await rule([command(`echo pre >> ${table}`)]);
    const post = await rule([command(`echo post >> ${table}`)]);
    await snapshot('consistent', {
      'stork.libopenstorage.org/pre-snapshot-rule': pre,
      'stork.libopenstorage.org/post-snapshot-rule': post,
    });
    const snap = await settled('consistent');
    expect(snap.status?.conditions?.at(-1), JSON.stringify(snap.status)).toMatchObject({ type: 'Ready' });
    const [csiSnapshot] = await csiSnapshots();
    expect(csiSnapshot?.metadata.name).toBe(`snapshot-${snap.metadata.uid ?? ''}`);
    expect(csiSnapshot?.spec.volumeSnapshotClassName).toBe(localSnapshotClass);
    expect(csiSnapshot?.status?.readyToUse).toBe(true);
    const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
      name: snap.spec.snapshotDataName ?? '',
    });
    const contentName = csiSnapshot?.status?.boundVolumeSnapshotContentName ?? '';
    expect(data.spec.csiSnapshot).toMatchObject({
      namespace: suite.ns,
      volumeSnapshotContentName: contentName,
    });
    const { archive, table: archivedText } = await archivedTable(api(), suite.csi, logDir, contentName);
    expect(archivedText).toBe('data\npre\n');
    expect(await readFile(table, 'utf8')).toBe('data\npre\npost\n');

    // Deleting the seed snapshot deletes the CSI snapshot, and the class's Delete policy the content and
    // the archive.
    await api().delete(resources.volumeSnapshots, { namespace: suite.ns, name: 'consistent' });
    await waitFor(
      'the CSI snapshot, its content and its archive gone',
      async () => {
        const left = (await csiSnapshots()).length;
        const content = await api()
          .get(csiSnapshotResources.volumeSnapshotContents, { name: contentName })
          .then(
            () => true,
            () => false,
          );
        const file = await stat(archive).then(
          () => true,
          () => false,
        );
        return left === 0 && !content && !file;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it('holds a background pre-rule exactly while the CSI snapshot is cut', async () => {
    const log = join(logDir, 'bg.log');
    const stamp = (word: string): string => `echo "${word} $(date +%s%3N)" >> ${log}`;
    const pre = await rule([command(`${stamp('locked')}; \${WAIT_CMD}; ${stamp('unlocked')}`, true)]);
    await snapshot('held', { 'stork.libopenstorage.org/pre-snapshot-rule': pre });
    const snap = await settled('held');
    expect(snap.status?.conditions?.at(-1), JSON.stringify(snap.status)).toMatchObject({ type: 'Ready' });
    const [csiSnapshot] = (await csiSnapshots()).filter(
      (s) => s.metadata.name === `snapshot-${snap.metadata.uid ?? ''}`,
    );
    const cut = Date.parse(csiSnapshot?.status?.creationTime ?? '');
    const lines = await waitFor(
      'the background command released',
      async () => {
        const text = await readFile(log, 'utf8').catch(() => '');
        return /unlocked/.test(text) ? text.trim().split('\n') : undefined;
      },
      { timeoutMs: 30_000 },
    );
    const at = (word: string): number => Number(lines.find((l) => l.startsWith(`${word} `))?.split(' ')[1]);
    // creationTime has a resolution of one second (the plugin's): locked before the end of that second,
    // released no earlier than its start.
    expect(at('locked')).toBeLessThan(cut + 1000);
    expect(at('unlocked')).toBeGreaterThanOrEqual(cut);
    expect(at('locked')).toBeLessThanOrEqual(at('unlocked'));
  });

  it('waits out an error the storage answers for a while (UNAVAILABLE, retried by the sidecar): Ready, the pre-rule held across it', async () => {
    await api().create(csiSnapshotResources.volumeSnapshotClasses, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: { name: 'busy-snapshots' },
      driver: localCsiDriver,
      deletionPolicy: 'Delete',
      parameters: {
        [failCreateSnapshotParameter]: 'the disk is busy',
        [failCreateSnapshotCodeParameter]: 'UNAVAILABLE',
        [failCreateSnapshotTimesParameter]: '2',
      },
    });
    const table = join(suite.volumeDir, 'table.txt');
    const before = await readFile(table, 'utf8');
    const pre = await rule([command(`echo busy-pre >> ${table}`)]);
    const post = await rule([command(`echo busy-post >> ${table}`)]);
    await snapshot('busy', {
      [csiSnapshotClassAnnotation]: 'busy-snapshots',
      'stork.libopenstorage.org/pre-snapshot-rule': pre,
      'stork.libopenstorage.org/post-snapshot-rule': post,
    });
    const snap = await settled('busy');
    expect(snap.status?.conditions?.at(-1), JSON.stringify(snap.status)).toMatchObject({ type: 'Ready' });
    const csiSnapshot = (await csiSnapshots()).find(
      (s) => s.metadata.name === `snapshot-${snap.metadata.uid ?? ''}`,
    );
    expect(csiSnapshot?.status?.readyToUse).toBe(true);
    const contentName = csiSnapshot?.status?.boundVolumeSnapshotContentName ?? '';
    const { table: archivedText } = await archivedTable(api(), suite.csi, logDir, contentName);
    // The post rule ran only once the retried cut was made.
    expect(archivedText).toBe(`${before}busy-pre\n`);
  });
});
