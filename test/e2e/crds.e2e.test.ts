import { describe, expect, it } from 'vitest';
import type { GroupVolumeSnapshot } from '../../src/k8s/crds/group-volume-snapshot.js';
import { ensureCrds } from '../../src/k8s/crds/install.js';
import type { Rule } from '../../src/k8s/crds/rule.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { KubeApiError } from '../../src/k8s/errors.js';
import { resources } from '../../src/k8s/paths.js';
import { createTestNamespace, useBox } from './helpers.js';

describe("stork's CRDs on the real API server", () => {
  const ctx = useBox(() => ({ nodes: [{ name: 'node-1' }] }));

  it('installs them (twice, concurrently), and kubectl serves the seed names', async () => {
    await Promise.all([ensureCrds(ctx.box.api), ensureCrds(ctx.box.api)]);
    // kubectl fails on a resource type the server does not serve.
    await expect(ctx.box.kubectl(['get', 'volumesnapshot,volumesnapshotdatas,rules', '-A'])).resolves.toBe(
      '',
    );
    const names = await ctx.box.kubectl(['api-resources', '-o', 'name']);
    expect(names.split('\n')).toEqual(
      expect.arrayContaining([
        'volumesnapshots.volumesnapshot.external-storage.k8s.io',
        'volumesnapshotdatas.volumesnapshot.external-storage.k8s.io',
        'rules.stork.libopenstorage.org',
      ]),
    );
  });

  it('accepts the seed snapshot and rejects a snapshot without a claim with a clear message', async () => {
    await ensureCrds(ctx.box.api);
    const ns = await createTestNamespace(ctx.box.api, 'crd');
    const snapshot: VolumeSnapshot = {
      apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'mysql-snapshot' },
      spec: { persistentVolumeClaimName: 'mysql-data' },
    };
    const created = await ctx.box.api.create(resources.volumeSnapshots, snapshot, ns);
    expect(created.spec.persistentVolumeClaimName).toBe('mysql-data');

    const bad = { ...snapshot, metadata: { name: 'bad' }, spec: {} };
    const error = await ctx.box.api.create(resources.volumeSnapshots, bad, ns).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KubeApiError);
    expect((error as KubeApiError).message).toMatch(/spec.persistentVolumeClaimName: Required value/);
  });

  it('keeps both shapes of Rule', async () => {
    await ensureCrds(ctx.box.api);
    const ns = await createTestNamespace(ctx.box.api, 'crd');
    const actions = [
      { type: 'command', value: 'mysql -e "flush tables with read lock; ${WAIT_CMD}"', background: true },
    ];
    const early: Rule = {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'Rule',
      metadata: { name: 'early' },
      spec: [{ podSelector: { app: 'mysql' }, actions }],
    };
    const later: Rule = {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'Rule',
      metadata: { name: 'later' },
      rules: [{ podSelector: { app: 'mysql' }, container: 'mysql', actions }],
    };
    await ctx.box.api.create(resources.rules, early, ns);
    await ctx.box.api.create(resources.rules, later, ns);
    const readEarly = await ctx.box.api.get<Rule>(resources.rules, { namespace: ns, name: 'early' });
    const readLater = await ctx.box.api.get<Rule>(resources.rules, { namespace: ns, name: 'later' });
    expect(readEarly.spec).toEqual(early.spec);
    expect(readLater.rules).toEqual(later.rules);
  });

  it('keeps Stork’s GroupVolumeSnapshot YAML, writes status only through the subresource, shows stage and status', async () => {
    await ensureCrds(ctx.box.api);
    const ns = await createTestNamespace(ctx.box.api, 'crd');
    const group: GroupVolumeSnapshot = {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'GroupVolumeSnapshot',
      metadata: { name: 'cassandra-group-snapshot' },
      spec: {
        preExecRule: 'cassandra-presnap-rule',
        pvcSelector: { matchLabels: { app: 'cassandra' } },
        restoreNamespaces: ['prod'],
        maxRetries: 3,
        options: { 'portworx/snapshot-type': 'local' },
      },
      // Dropped on create: status is a subresource.
      status: { stage: 'Final', status: 'Successful' },
    };
    const type = {
      group: 'stork.libopenstorage.org',
      version: 'v1alpha1',
      resource: 'groupvolumesnapshots',
      namespaced: true,
    };
    const created = await ctx.box.api.create<GroupVolumeSnapshot>(type, group, ns);
    expect(created.spec).toEqual(group.spec);
    expect(created.status?.status).toBeUndefined();
    await ctx.box.api.patch(
      type,
      { namespace: ns, name: 'cassandra-group-snapshot', subresource: 'status' },
      {
        status: {
          stage: 'Snapshot',
          status: 'InProgress',
          volumeSnapshots: [
            { VolumeSnapshotName: 'cassandra-data-0', Conditions: [{ type: 'Pending', status: 'True' }] },
          ],
        },
      },
    );
    const table = await ctx.box.kubectl(['get', 'groupvolumesnapshots', '-n', ns]);
    expect(table).toMatch(/NAME\s+STAGE\s+STATUS\s+AGE/);
    expect(table).toMatch(/cassandra-group-snapshot\s+Snapshot\s+InProgress/);
    const read = await ctx.box.api.get<GroupVolumeSnapshot>(type, {
      namespace: ns,
      name: 'cassandra-group-snapshot',
    });
    expect(read.status?.volumeSnapshots?.[0]?.VolumeSnapshotName).toBe('cassandra-data-0');
  });
});
