import { mkdtempSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event, PersistentVolume, PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localCsiDriver, type BoxCsi } from '../../src/box/csi/box-csi.js';
import { restoreClaim as storkctlRestoreClaim } from '../../src/cli/pvc.js';
import { csiRestoreName, restoreForUidLabel } from '../../src/controllers/snapshot/csi-restore.js';
import {
  csiSnapshotResources,
  type CsiVolumeSnapshot,
  type CsiVolumeSnapshotContent,
} from '../../src/drivers/csi/csi-snapshots.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { applyManifests, createTestNamespace } from './helpers.js';
import {
  boundVolume as boundVolumeOf,
  claimBound,
  claimDir,
  listCsiSnapshots,
  localClaim,
  runDbPod,
  snapshotSettled,
  startNodeCsi,
  tableFile,
  useCsiStorkBox,
  volumeDir,
  writeTable,
} from './csi-fixtures.js';
import { dbCommand as command, ruleCreator } from './rule-fixtures.js';

const markerDir = mkdtempSync(join(tmpdir(), 'stork-csirestore-markers-'));

/**
 * Restores of CSI-backed snapshots through `stork-snapshot-sc`, with real bytes: the upstream
 * external-provisioner and external-snapshotter over the box's local CSI plugin (volumes are directories,
 * snapshots tar archives) and the real PV controller. A snapshot taken through stork's API with pre- and
 * post-rules is restored into a claim of the same namespace and of another one; the restored directory
 * must hold what the volume held when the snapshot was cut.
 */
describe('restores of CSI snapshots through stork-snapshot-sc', () => {
  const ctx = useCsiStorkBox({
    markerDir,
    commandTimeoutMs: 15_000,
    commandAttempts: 2,
    retryIntervalMs: 100,
  });
  const api = () => ctx.box.api;
  let csi: BoxCsi | undefined;
  let ns = '';
  const allowed = { ns: '' };

  beforeAll(async () => {
    await applyManifests(
      api(),
      await readFile(new URL('../../specs/stork-snapshot-sc.yaml', import.meta.url), 'utf8'),
      'default',
    );
    csi = await startNodeCsi(ctx.box);
    ns = await createTestNamespace(api(), 'csirestore');
    allowed.ns = await createTestNamespace(api(), 'csirestore-to');
    await api().create(resources.persistentVolumeClaims, localClaim(ns, 'data'), ns);
    await runDbPod(api(), ns, ['data']);
    const dir = await volumeDirOf(ns, 'data');
    await writeTable(dir, 'data\n');

    // The snapshot: the pre-rule's marker is in it, the post-rule's is not.
    const table = join(dir, tableFile);
    const pre = await rule([command(`echo pre >> ${table}`)]);
    const post = await rule([command(`echo post >> ${table}`)]);
    await api().create<VolumeSnapshot>(
      resources.volumeSnapshots,
      {
        apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: {
          name: 'consistent',
          annotations: {
            'stork.libopenstorage.org/pre-snapshot-rule': pre,
            'stork.libopenstorage.org/post-snapshot-rule': post,
            'stork/snapshot-restore-namespaces': allowed.ns,
          },
        },
        spec: { persistentVolumeClaimName: 'data' },
      },
      ns,
    );
    const snap = await snapshotSettled(api(), ns, 'consistent');
    expect(snap.status?.conditions?.at(-1), JSON.stringify(snap.status)).toMatchObject({ type: 'Ready' });
    expect(await readFile(table, 'utf8')).toBe('data\npre\npost\n');
  }, 600_000);

  afterAll(async () => {
    await csi?.stop();
    await rm(markerDir, { recursive: true, force: true });
  });

  const rule = ruleCreator(api, () => ns);
  const volumeDirOf = (namespace: string, name: string): Promise<string> =>
    claimDir(api(), csi, namespace, name);
  const boundVolume = (namespace: string, name: string): Promise<PersistentVolume> =>
    boundVolumeOf(api(), namespace, name);

  /** The claim `storkctl create pvc --snapshot consistent` makes (with the source namespace if another). */
  async function restoreClaim(namespace: string, name: string): Promise<PersistentVolumeClaim> {
    const claim = storkctlRestoreClaim(name, namespace, {
      snapshot: 'consistent',
      size: '1Gi',
      ...(namespace === ns ? {} : { sourceNs: ns }),
    });
    return api().create<PersistentVolumeClaim>(resources.persistentVolumeClaims, claim, namespace);
  }
  const bound = (namespace: string, name: string) =>
    claimBound(api(), namespace, name, { timeoutMs: 120_000, intervalMs: 250 });
  const events = async (namespace: string, name: string): Promise<Event[]> =>
    (await api().list<Event>(resources.events, namespace)).items.filter(
      (e) => e.involvedObject.name === name,
    );
  /** What stork made for a restore (its restore claim, a VolumeSnapshot, a content), still there. */
  async function leftovers(namespace: string, uid: string): Promise<string[]> {
    const selector = { labelSelector: `${restoreForUidLabel}=${uid}` };
    const claims = await api().list<PersistentVolumeClaim>(
      resources.persistentVolumeClaims,
      namespace,
      selector,
    );
    const snapshots = await api().list<CsiVolumeSnapshot>(
      csiSnapshotResources.volumeSnapshots,
      namespace,
      selector,
    );
    const contents = await api().list<CsiVolumeSnapshotContent>(
      csiSnapshotResources.volumeSnapshotContents,
      undefined,
      selector,
    );
    return [...claims.items, ...snapshots.items, ...contents.items].map((o) => o.metadata?.name ?? '');
  }
  const exists = (path: string) =>
    stat(path).then(
      () => true,
      () => false,
    );

  /** Restores into namespace/name and checks the bytes, the cleanup, and deletion with the claim. */
  async function restoresAndDeletes(namespace: string, name: string): Promise<void> {
    const created = await restoreClaim(namespace, name);
    const uid = created.metadata?.uid ?? '';
    const pvc = await bound(namespace, name);
    const pv = await boundVolume(namespace, name);
    expect(pv.spec?.csi?.driver).toBe(localCsiDriver);
    expect(pv.spec?.claimRef).toMatchObject({ namespace, name, uid });
    expect(pv.spec?.storageClassName).toBe('stork-snapshot-sc');
    expect(pvc.spec?.volumeName).toBe(pv.metadata?.name);
    const dir = volumeDir(csi, pv);
    expect(await readFile(join(dir, tableFile), 'utf8')).toBe('data\npre\n');
    // What stork made on the way is gone, its finalizer is off, and the user saw it happen.
    await waitFor(
      'the restore claim and its helpers gone',
      async () => (await leftovers(namespace, uid)).length === 0,
      {
        timeoutMs: 60_000,
        intervalMs: 250,
      },
    );
    await waitFor(
      'the restore-protection finalizer off',
      async () => {
        const now = await api().get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
          namespace,
          name,
        });
        return !(now.metadata?.finalizers ?? []).includes('stork.libopenstorage.org/restore-protection');
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const reasons = (await events(namespace, name)).map((e) => e.reason);
    expect(reasons).toContain('Restoring');
    expect(reasons).toContain('ProvisioningSucceeded');
    // The source snapshot is untouched: still Ready, its CSI snapshot and content still there.
    const source = await api().get<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, {
      namespace: ns,
      name: (await listCsiSnapshots(api(), ns))[0]?.metadata.name ?? '',
    });
    expect(source.status?.readyToUse).toBe(true);

    // Deleting the claim deletes its volume, through the CSI driver's provisioner.
    await api().delete(resources.persistentVolumeClaims, { namespace, name });
    await waitFor(
      'the restored PV and its directory gone',
      async () => {
        const left = await api()
          .get(resources.persistentVolumes, { name: pv.metadata?.name ?? '' })
          .then(
            () => true,
            () => false,
          );
        return !left && !(await exists(dir));
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
  }

  it('restores into a claim of the same namespace: the data and the pre-rule marker, not the post one', async () => {
    await restoresAndDeletes(ns, 'restored');
    expect(await readFile(join(await volumeDirOf(ns, 'data'), tableFile), 'utf8')).toBe('data\npre\npost\n');
  });

  it('restores into a namespace the snapshot allows, through a VolumeSnapshot made there', async () => {
    await restoresAndDeletes(allowed.ns, 'restored-there');
  });

  it('refuses a namespace the snapshot does not allow: a clear event, nothing made', async () => {
    const other = await createTestNamespace(api(), 'csirestore-no');
    const created = await restoreClaim(other, 'refused');
    const event = await waitFor(
      'the ProvisioningFailed event',
      async () => (await events(other, 'refused')).find((e) => e.reason === 'ProvisioningFailed'),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(event.message).toMatch(
      /cannot be restored into namespace .*not allowed by the snapshot's stork\/snapshot-restore-namespaces/,
    );
    const pvc = await api().get<PersistentVolumeClaim>(resources.persistentVolumeClaims, {
      namespace: other,
      name: 'refused',
    });
    expect(pvc.status?.phase).toBe('Pending');
    expect(await leftovers(other, created.metadata?.uid ?? '')).toEqual([]);
    const shadow = await api()
      .get(resources.persistentVolumeClaims, {
        namespace: other,
        name: csiRestoreName(created.metadata?.uid ?? ''),
      })
      .then(
        () => true,
        () => false,
      );
    expect(shadow).toBe(false);
    // Deleting it leaves nothing either (it was never held).
    await api().delete(resources.persistentVolumeClaims, { namespace: other, name: 'refused' });
    await waitFor(
      'the refused claim gone',
      async () =>
        api()
          .get(resources.persistentVolumeClaims, { namespace: other, name: 'refused' })
          .then(
            () => false,
            () => true,
          ),
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  });
});
