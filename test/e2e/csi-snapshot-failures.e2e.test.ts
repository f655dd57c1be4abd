import { mkdtempSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { localCsiDriver } from '../../src/box/csi/box-csi.js';
import { failCreateSnapshotParameter } from '../../src/box/csi/plugin.js';
import { csiSnapshotClassAnnotation, csiSnapshotResources } from '../../src/drivers/csi/csi-snapshots.js';
import type { ObjectMeta } from '../../src/wire/k8s-types.js';
import { useCsiSnapshotClaim } from './csi-fixtures.js';
import { dbCommand as command, testRuleTimings } from './rule-fixtures.js';

const markerDir = mkdtempSync(join(tmpdir(), 'stork-csifail-markers-'));

/** A VolumeSnapshotContent, as far as telling whose it is. */
interface ContentRef {
  metadata: ObjectMeta;
  spec: { volumeSnapshotRef?: { namespace?: string; name?: string } };
}

/**
 * Every way a seed-API snapshot on CSI storage fails ends in its Error condition with the cause, and
 * leaves nothing behind: no CSI VolumeSnapshot, no VolumeSnapshotContent, no archive on the storage. No
 * test here makes a snapshot that succeeds, so after each there must be none of them at all.
 */
describe('failed snapshots on CSI storage: a clear Error, and nothing left behind', () => {
  const suite = useCsiSnapshotClaim('csifail', { markerDir, ...testRuleTimings });
  const { api, rule, snapshot, settled } = suite;
  const plugin = () => suite.csi?.plugins.get('node-1');

  afterAll(async () => {
    await rm(markerDir, { recursive: true, force: true });
  });

  /** A VolumeSnapshotClass made by a test; the CSI VolumeSnapshot's class must exist to be taken. */
  async function snapshotClass(
    name: string,
    driver: string,
    deletionPolicy: 'Delete' | 'Retain',
    parameters?: Record<string, string>,
  ): Promise<void> {
    await api().create(csiSnapshotResources.volumeSnapshotClasses, {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshotClass',
      metadata: { name },
      driver,
      deletionPolicy,
      ...(parameters ? { parameters } : {}),
    });
  }

  /** What is left: the namespace's CSI snapshots, the contents made for them, the storage's archives. */
  async function left(): Promise<{ snapshots: string[]; contents: string[]; archives: string[] }> {
    const contents = await api().list<ContentRef>(csiSnapshotResources.volumeSnapshotContents);
    return {
      snapshots: (await suite.csiSnapshots()).map((s) => s.metadata.name ?? ''),
      contents: contents.items
        .filter((c) => c.spec.volumeSnapshotRef?.namespace === suite.ns)
        .map((c) => c.metadata.name ?? ''),
      archives: await readdir(join(plugin()?.options.stateDir ?? '', 'snapshots')),
    };
  }

  /**
   * What is left once the deletions settle: polled until nothing is (the snapshot controller and the
   * sidecar delete asynchronously), for at most a minute, then asserted empty.
   */
  async function expectNothingLeft(): Promise<void> {
    const deadline = Date.now() + 60_000;
    let now = await left();
    const empty = (l: typeof now): boolean =>
      l.snapshots.length + l.contents.length + l.archives.length === 0;
    while (!empty(now) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      now = await left();
    }
    expect(now).toEqual({ snapshots: [], contents: [], archives: [] });
  }

  /** Takes the snapshot `name` and expects it to end in Error with a message matching `cause`. */
  async function expectError(name: string, annotations: Record<string, string>, cause: RegExp) {
    await snapshot(name, annotations);
    const snap = await settled(name);
    const last = snap.status?.conditions?.at(-1);
    expect(last?.type, JSON.stringify(snap.status)).toBe('Error');
    expect(last?.message).toMatch(/^snapshot failed due to err: /);
    expect(last?.message).toMatch(cause);
  }

  it('the named class does not exist: no CSI snapshot is made', async () => {
    const taken = plugin()?.snapshotsTaken;
    await expectError(
      'no-class',
      { [csiSnapshotClassAnnotation]: 'missing' },
      /VolumeSnapshotClass missing not found/,
    );
    await expectNothingLeft();
    expect(plugin()?.snapshotsTaken).toBe(taken);
  });

  it('the named class is for another CSI driver: no CSI snapshot is made', async () => {
    await snapshotClass('other-driver-snapshots', 'other.csi.example', 'Delete');
    const taken = plugin()?.snapshotsTaken;
    await expectError(
      'other-driver',
      { [csiSnapshotClassAnnotation]: 'other-driver-snapshots' },
      new RegExp(
        `VolumeSnapshotClass other-driver-snapshots is for CSI driver other\\.csi\\.example, not ${localCsiDriver.replaceAll('.', '\\.')}$`,
      ),
    );
    await expectNothingLeft();
    expect(plugin()?.snapshotsTaken).toBe(taken);
  });

  it('the storage fails the snapshot: its cause is in the Error, and the CSI snapshot and its content go, though the class retains', async () => {
    await snapshotClass('failing-snapshots', localCsiDriver, 'Retain', {
      [failCreateSnapshotParameter]: 'the disk is on fire',
    });
    const taken = plugin()?.snapshotsTaken;
    await expectError(
      'storage-fails',
      { [csiSnapshotClassAnnotation]: 'failing-snapshots' },
      /the CSI snapshot csifail-\w+\/snapshot-[-0-9a-f]+ failed: .*the disk is on fire/,
    );
    await expectNothingLeft();
    expect(plugin()?.snapshotsTaken).toBe(taken);
  });

  it('the pre-snapshot rule fails: no CSI snapshot is made', async () => {
    const pre = await rule([command('echo pre broke >&2; exit 3')]);
    const taken = plugin()?.snapshotsTaken;
    await expectError(
      'pre-fails',
      { 'stork.libopenstorage.org/pre-snapshot-rule': pre },
      /failed to run pre-snap rule due to: .*exited with code 3: pre broke/,
    );
    await expectNothingLeft();
    expect(plugin()?.snapshotsTaken).toBe(taken);
  });

  it('the post-snapshot rule fails: the cut CSI snapshot, its content and its archive go, though the class retains', async () => {
    await snapshotClass('retained-snapshots', localCsiDriver, 'Retain');
    const post = await rule([command('echo post broke >&2; exit 4')]);
    const taken = plugin()?.snapshotsTaken ?? 0;
    await expectError(
      'post-fails',
      {
        [csiSnapshotClassAnnotation]: 'retained-snapshots',
        'stork.libopenstorage.org/post-snapshot-rule': post,
      },
      /failed to run post-snap rule due to: .*exited with code 4: post broke/,
    );
    // The post rule runs only after a cut: the storage did take the snapshot that must now be gone.
    expect(plugin()?.snapshotsTaken).toBe(taken + 1);
    await expectNothingLeft();
  });
});
