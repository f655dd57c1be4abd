import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { PersistentVolumeClaim } from '../../src/wire/k8s-types.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { networkGroupSnapshotClass } from '../../src/box/csi/box-csi.js';
import { restoreClaim as storkctlRestoreClaim } from '../../src/cli/pvc.js';
import {
  csiGroupSnapshotResources,
  type CsiVolumeGroupSnapshot,
} from '../../src/drivers/csi/csi-group-snapshots.js';
import { csiSnapshotResources, type CsiVolumeSnapshot } from '../../src/drivers/csi/csi-snapshots.js';
import type { GroupVolumeSnapshot } from '../../src/k8s/crds/group-volume-snapshot.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace } from './helpers.js';
import { claimBound, runDbPod, tableFile } from './csi-fixtures.js';
import { networkClaim, useNativeGroupBox } from './native-group-fixtures.js';
import { dbCommand as command, ruleCreator } from './rule-fixtures.js';

const claimNames = ['a', 'b', 'c'];

/**
 * Stork's GroupVolumeSnapshot through a native VolumeGroupSnapshot, with real bytes: the box's network
 * CSI plugin serves the CSI GroupController (one call archives every volume), csi-snapshotter and
 * snapshot-controller run with volume group snapshots, and the network driver has a default
 * VolumeGroupSnapshotClass. The pre rule is held while the group is cut; restores of the members, in the
 * same namespace and in one restoreNamespaces allows, hold the data and the pre marker, not the post one.
 */
describe('native group snapshots on CSI storage', () => {
  const { api, network, dirOf } = useNativeGroupBox('stork-native-group-markers');
  let ns = '';
  let other = '';
  const volumeDirs = new Map<string, string>();

  beforeAll(async () => {
    ns = await createTestNamespace(api(), 'nativegroup');
    other = await createTestNamespace(api(), 'nativegroup-to');
    for (const name of claimNames) {
      await api().create<PersistentVolumeClaim>(
        resources.persistentVolumeClaims,
        networkClaim(ns, name, 'db'),
        ns,
      );
      await claimBound(api(), ns, name, { timeoutMs: 120_000, intervalMs: 250 });
    }
    await runDbPod(api(), ns, claimNames);
    for (const name of claimNames) {
      const dir = await dirOf(ns, name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, tableFile), `data ${name}\n`);
      volumeDirs.set(name, dir);
    }
  }, 900_000);

  const rule = ruleCreator(api, () => ns);
  const tables = (): string[] => claimNames.map((n) => join(volumeDirs.get(n) ?? '', tableFile));

  it('one VolumeGroupSnapshot cut under the held pre rule; members restore with the pre marker, not the post one', async () => {
    const pre = await rule([
      command(
        `${tables()
          .map((t) => `echo pre >> ${t}`)
          .join('; ')}; \${WAIT_CMD}`,
        true,
      ),
    ]);
    const post = await rule([
      command(
        tables()
          .map((t) => `echo post >> ${t}`)
          .join('; '),
      ),
    ]);
    await api().create<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      {
        apiVersion: 'stork.libopenstorage.org/v1alpha1',
        kind: 'GroupVolumeSnapshot',
        metadata: { name: 'native' },
        spec: {
          pvcSelector: { matchLabels: { app: 'db' } },
          preExecRule: pre,
          postExecRule: post,
          restoreNamespaces: [other],
        },
      },
      ns,
    );
    const done = await waitFor(
      'the native group Final',
      async () => {
        const g = await api().get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, {
          namespace: ns,
          name: 'native',
        });
        return g.status?.stage === 'Final' ? g : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 250 },
    );
    expect(done.status?.status, JSON.stringify(done.status)).toBe('Successful');
    const uid = done.metadata.uid ?? '';

    // One VolumeGroupSnapshot of the network driver's class, and its three member snapshots.
    const group = await api().get<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, {
      namespace: ns,
      name: `stork-group-${uid}`,
    });
    expect(group.spec.volumeGroupSnapshotClassName).toBe(networkGroupSnapshotClass);
    expect(group.status?.readyToUse).toBe(true);
    expect([...(network()?.groupSnapshotIds().values() ?? [])].map((m) => m.length)).toEqual([3]);
    for (const claim of claimNames) {
      const member = await api().get<VolumeSnapshot>(resources.volumeSnapshots, {
        namespace: ns,
        name: `native-${claim}-${uid}`,
      });
      expect(member.status?.conditions?.at(-1)?.type).toBe('Ready');
      const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
        name: member.spec.snapshotDataName ?? '',
      });
      const csiSnapshot = await api().get<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, {
        namespace: ns,
        name: data.spec.csiSnapshot?.name ?? '',
      });
      expect(csiSnapshot.spec.source.persistentVolumeClaimName).toBe(claim);
      expect(csiSnapshot.metadata.ownerReferences?.[0]?.uid).toBe(group.metadata.uid);
    }
    for (const table of tables()) expect(await readFile(table, 'utf8')).toMatch(/^data \w\npre\npost\n$/);

    // Restores through stork-snapshot-sc: same namespace, and the namespace restoreNamespaces allows.
    for (const [namespace, claim] of [
      [ns, 'a'],
      [other, 'b'],
    ] as const) {
      const name = `${claim}-restored`;
      await api().create<PersistentVolumeClaim>(
        resources.persistentVolumeClaims,
        storkctlRestoreClaim(name, namespace, {
          snapshot: `native-${claim}-${uid}`,
          size: '1Gi',
          ...(namespace === ns ? {} : { sourceNs: ns }),
        }),
        namespace,
      );
      await claimBound(api(), namespace, name, { timeoutMs: 180_000, intervalMs: 250 });
      const dir = await dirOf(namespace, name);
      expect(await readFile(join(dir, tableFile), 'utf8')).toBe(`data ${claim}\npre\n`);
    }
  }, 600_000);

  it('a post rule that fails: the group Failed, its VolumeGroupSnapshot and storage snapshots gone', async () => {
    const before = new Set(network()?.groupSnapshotIds().keys() ?? []);
    const taken = network()?.groupSnapshotsTaken ?? 0;
    const post = await rule([command('exit 3')]);
    await api().create<GroupVolumeSnapshot>(
      resources.groupVolumeSnapshots,
      {
        apiVersion: 'stork.libopenstorage.org/v1alpha1',
        kind: 'GroupVolumeSnapshot',
        metadata: { name: 'post-fails' },
        spec: { pvcSelector: { matchLabels: { app: 'db' } }, postExecRule: post },
      },
      ns,
    );
    const done = await waitFor(
      'the failing group Final',
      async () => {
        const g = await api().get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, {
          namespace: ns,
          name: 'post-fails',
        });
        return g.status?.stage === 'Final' ? g : undefined;
      },
      { timeoutMs: 240_000, intervalMs: 250 },
    );
    expect(done.status?.status, JSON.stringify(done.status)).toBe('Failed');
    expect(done.status?.conditions?.at(-1)?.message).toMatch(/^group snapshot failed due to err: /);
    // It was cut natively (one group snapshot more), then removed.
    expect(network()?.groupSnapshotsTaken).toBe(taken + 1);
    const uid = done.metadata.uid ?? '';
    await waitFor(
      'the VolumeGroupSnapshot, its members and its storage snapshots gone',
      async () => {
        const groups = (
          await api().list<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, ns)
        ).items.filter((g) => g.metadata.name === `stork-group-${uid}`);
        const members = (
          await api().list<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots, ns)
        ).items.filter((s) =>
          (s.metadata.ownerReferences ?? []).some(
            (o) => o.kind === 'VolumeGroupSnapshot' && o.name === `stork-group-${uid}`,
          ),
        );
        const cut = [...(network()?.groupSnapshotIds().keys() ?? [])].filter((id) => !before.has(id));
        return groups.length === 0 && members.length === 0 && cut.length === 0 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }, 420_000);

  it('deleting the group deletes its members and the VolumeGroupSnapshot', async () => {
    const group = await api().get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, {
      namespace: ns,
      name: 'native',
    });
    const uid = group.metadata.uid ?? '';
    for (const claim of ['a', 'b'])
      await api().delete(resources.persistentVolumeClaims, {
        namespace: claim === 'a' ? ns : other,
        name: `${claim}-restored`,
      });
    await api().delete(resources.groupVolumeSnapshots, { namespace: ns, name: 'native' });
    await waitFor(
      'the members and the VolumeGroupSnapshot gone',
      async () => {
        const members = (await api().list<VolumeSnapshot>(resources.volumeSnapshots, ns)).items.filter((s) =>
          (s.metadata.name ?? '').endsWith(uid),
        );
        const groups = (
          await api().list<CsiVolumeGroupSnapshot>(csiGroupSnapshotResources.volumeGroupSnapshots, ns)
        ).items;
        return members.length === 0 && groups.length === 0 ? true : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500 },
    );
  }, 180_000);
});
