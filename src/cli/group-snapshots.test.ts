import { describe, expect, it } from 'vitest';
import type { GroupVolumeSnapshot } from '../k8s/crds/group-volume-snapshot.js';
import type { KubeApi } from '../k8s/api.js';
import { resources } from '../k8s/paths.js';
import { FakeKubeClient } from '../k8s/testing/fake-client.js';
import { CommandContext, type GlobalOptions } from './context.js';
import {
  collectList,
  createGroupSnapshot,
  deleteGroupSnapshots,
  getGroupSnapshots,
  groupSnapshotFromFlags,
  groupSnapshotRow,
  type GroupSnapshotFlags,
} from './group-snapshots.js';
import { runStorkctl } from './program.js';

/** A command context over the fake API server, writing into `out`. */
function context(api: FakeKubeClient, output: GlobalOptions['output'] = 'table') {
  let out = '';
  const ctx = new CommandContext(
    { namespace: 'shop', output, storkNamespace: 'kube-system', storkService: 'https:stork-service:status' },
    { out: (t) => (out += t), err: () => undefined },
  );
  Object.defineProperty(ctx, 'api', { get: () => api as unknown as KubeApi });
  return { ctx, out: () => out };
}

describe('create groupsnapshot flags (Stork’s)', () => {
  it('makes the GroupVolumeSnapshot of Stork’s storkctl', () => {
    const flags: GroupSnapshotFlags = {
      pvcSelectors: collectList('app=mysql,tier=db', undefined),
      preExecRule: 'freeze',
      postExecRule: 'thaw',
      restoreNamespaces: collectList('dev', ['qa']),
      maxRetries: '3',
      opts: ['portworx/snapshot-type=local'],
    };
    expect(groupSnapshotFromFlags(['g'], 'shop', flags)).toEqual({
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'GroupVolumeSnapshot',
      metadata: { name: 'g', namespace: 'shop' },
      spec: {
        pvcSelector: { matchLabels: { app: 'mysql', tier: 'db' } },
        preExecRule: 'freeze',
        postExecRule: 'thaw',
        restoreNamespaces: ['qa', 'dev'],
        maxRetries: 3,
        options: { 'portworx/snapshot-type': 'local' },
      },
    });
  });

  it.each<[readonly string[], GroupSnapshotFlags, RegExp]>([
    [[], { pvcSelectors: ['a=b'] }, /Exactly one name needs to be provided for groupsnapshot name/],
    [['a', 'b'], { pvcSelectors: ['a=b'] }, /Exactly one name/],
    [['g'], {}, /PVC label selectors must be provided/],
    [['g'], { pvcSelectors: ['novalue'] }, /Invalid key value: novalue provided. Example format: app=mysql/],
    [['g'], { pvcSelectors: ['=x'] }, /Invalid key value/],
    [['g'], { pvcSelectors: ['a=b'], maxRetries: '-1' }, /Invalid maxRetries \(-1\)/],
    [['g'], { pvcSelectors: ['a=b'], opts: ['x'] }, /Invalid key value: x/],
  ])('%j %j is refused', (names, flags, message) => {
    expect(() => groupSnapshotFromFlags(names, 'shop', flags)).toThrow(message);
  });

  it('a long malformed value is shown cut short', () => {
    expect(() => groupSnapshotFromFlags(['g'], 'shop', { pvcSelectors: ['x'.repeat(10_000)] })).toThrow(
      /^Invalid key value: x{100} provided/,
    );
  });

  it('refuses bad arguments before contacting the cluster', async () => {
    let err = '';
    const code = await runStorkctl(['--kubeconfig', '/nonexistent', 'create', 'groupsnapshot', 'g'], {
      out: () => undefined,
      err: (t) => (err += t),
    });
    expect(code).toBe(1);
    expect(err).toBe('Error: PVC label selectors must be provided\n');
  });
});

describe('groupsnapshot commands over the API', () => {
  const group: GroupVolumeSnapshot = {
    metadata: { namespace: 'shop', name: 'g1', creationTimestamp: '2026-01-02T03:04:05Z' },
    spec: { pvcSelector: { matchLabels: { app: 'db' } } },
    status: {
      stage: 'Final',
      status: 'Successful',
      volumeSnapshots: [{ VolumeSnapshotName: 'a' }, { VolumeSnapshotName: 'b' }],
    },
  };

  it('get shows Stork’s columns; delete deletes; a missing one is named', async () => {
    const api = new FakeKubeClient();
    api.seed(resources.groupVolumeSnapshots, group);
    const listed = context(api);
    await getGroupSnapshots(listed.ctx, []);
    expect(listed.out()).toBe(
      'NAME   STATUS       STAGE   SNAPSHOTS   CREATED\ng1     Successful   Final   2           02 Jan 26 03:04 UTC\n',
    );
    const deleted = context(api);
    await deleteGroupSnapshots(deleted.ctx, ['g1']);
    expect(deleted.out()).toBe('GroupVolumeSnapshot g1 deleted successfully\n');
    expect(api.object(resources.groupVolumeSnapshots, 'g1', 'shop')).toBeUndefined();
    await expect(deleteGroupSnapshots(context(api).ctx, ['g1'])).rejects.toThrow(
      'groupvolumesnapshots "g1" not found in namespace "shop"',
    );
    const empty = context(api);
    await getGroupSnapshots(empty.ctx, []);
    expect(empty.out()).toBe('No resources found.\n');
  });

  it('create writes the object into the namespace', async () => {
    const api = new FakeKubeClient();
    const created = context(api);
    await createGroupSnapshot(created.ctx, ['g2'], { pvcSelectors: ['app=db'] });
    expect(created.out()).toBe('GroupVolumeSnapshot g2 created successfully\n');
    expect(
      api.object<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, 'g2', 'shop')?.spec.pvcSelector,
    ).toEqual({ matchLabels: { app: 'db' } });
  });

  it('a row of a group stork has not looked at yet', () => {
    expect(groupSnapshotRow({ metadata: { name: 'new' }, spec: {} })).toEqual(['new', '', '', '0', '']);
  });
});
