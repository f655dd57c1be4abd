// CsiGroupSnapshots over the fake API server and a fake clock: which class, the cut while a caller holds,
// and that a failure leaves nothing (contents switched to Delete before the group snapshot is deleted).
import { describe, expect, it } from 'vitest';
import { statusError } from '../../k8s/errors.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { FakeClock } from '../../lib/fake-clock.js';
import { groupSnapshotBeingDeletedAnnotation } from './content-discard.js';
import {
  csiGroupSnapshotResources,
  CsiGroupSnapshots,
  defaultGroupSnapshotClassAnnotation,
  groupBeingCreatedAnnotation,
  type CsiVolumeGroupSnapshot,
  type CsiVolumeGroupSnapshotClass,
  type CsiVolumeGroupSnapshotContent,
} from './csi-group-snapshots.js';
import {
  csiSnapshotResources,
  CsiSnapshotFailed,
  type CsiVolumeSnapshot,
  type CsiVolumeSnapshotContent,
} from './csi-snapshots.js';

const driver = 'net.csi.example.com';
const groupClass = (name: string, classDriver = driver, isDefault = true): CsiVolumeGroupSnapshotClass => ({
  metadata: {
    name,
    ...(isDefault ? { annotations: { [defaultGroupSnapshotClassAnnotation]: 'true' } } : {}),
  },
  driver: classDriver,
  deletionPolicy: 'Retain',
});
const ref = { namespace: 'shop', name: 'stork-group-g1' };
/** snapshot-controller's finalizer on a bound content: it stays, being deleted, until the sidecar is done. */
const contentFinalizer = 'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection';
const cutSpec = { selector: { matchLabels: { app: 'db' } }, className: 'groups', labels: { l: 'v' } };

function setUp(clock = new FakeClock()) {
  const api = new FakeKubeClient({ clock });
  const groups = new CsiGroupSnapshots({
    api,
    clock,
    describe: (s) =>
      Promise.resolve({
        id: `csi:${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`,
        name: s.metadata.name ?? '',
        volumeId: '',
        labels: {},
        ready: s.status?.readyToUse === true,
      }),
    cutTimeoutMs: 5000,
    pollIntervalMs: 100,
  });
  return { api, clock, groups };
}

/** What snapshot-controller writes once a group is cut: its content bound, then its members. */
function cutNow(api: FakeKubeClient, ready: boolean): void {
  const group = api.object<CsiVolumeGroupSnapshot>(
    csiGroupSnapshotResources.volumeGroupSnapshots,
    ref.name,
    ref.namespace,
  );
  if (!group) throw new Error('no group snapshot to cut');
  api.seed(csiGroupSnapshotResources.volumeGroupSnapshotContents, {
    metadata: { name: 'groupcontent-1', finalizers: [contentFinalizer] },
    spec: { deletionPolicy: 'Retain', driver, volumeGroupSnapshotRef: { uid: group.metadata.uid ?? '' } },
  });
  api.seed(csiGroupSnapshotResources.volumeGroupSnapshots, {
    ...group,
    status: {
      boundVolumeGroupSnapshotContentName: 'groupcontent-1',
      creationTime: '2026-01-01T00:00:01Z',
      readyToUse: ready,
    },
  });
  for (const claim of ['a', 'b']) {
    const uid = `member-${claim}-uid`;
    api.seed(csiSnapshotResources.volumeSnapshotContents, {
      metadata: { name: `snapcontent-${claim}`, finalizers: [contentFinalizer] },
      spec: { deletionPolicy: 'Retain', driver, volumeSnapshotRef: { uid } },
    });
    api.seed(csiSnapshotResources.volumeSnapshots, {
      metadata: {
        namespace: 'shop',
        name: `snapshot-${claim}`,
        uid,
        ownerReferences: [
          {
            apiVersion: 'groupsnapshot.storage.k8s.io/v1',
            kind: 'VolumeGroupSnapshot',
            name: ref.name,
            uid: group.metadata.uid ?? '',
          },
        ],
      },
      spec: { source: { persistentVolumeClaimName: claim } },
      status: { boundVolumeSnapshotContentName: `snapcontent-${claim}`, readyToUse: ready },
    } satisfies CsiVolumeSnapshot);
  }
  // A VolumeSnapshot of the namespace that is no member.
  api.seed(csiSnapshotResources.volumeSnapshots, {
    metadata: { namespace: 'shop', name: 'unrelated' },
    spec: { source: { persistentVolumeClaimName: 'a' } },
  } satisfies CsiVolumeSnapshot);
}

/**
 * What external-snapshotter writes when the group's CreateVolumeGroupSnapshot or its readiness check
 * fails: the error in the group content (marked being created while the sidecar retries the create, with a
 * handle once cut), copied by snapshot-controller to the VolumeGroupSnapshot, which is not ready.
 */
function groupError(
  api: FakeKubeClient,
  message: string,
  content: Pick<CsiVolumeGroupSnapshotContent, 'status'> & { beingCreated?: boolean },
): void {
  const group = api.object<CsiVolumeGroupSnapshot>(
    csiGroupSnapshotResources.volumeGroupSnapshots,
    ref.name,
    ref.namespace,
  );
  if (!group) throw new Error('no group snapshot');
  api.seed(csiGroupSnapshotResources.volumeGroupSnapshotContents, {
    metadata: {
      name: 'groupcontent-1',
      finalizers: [contentFinalizer],
      ...(content.beingCreated ? { annotations: { [groupBeingCreatedAnnotation]: 'yes' } } : {}),
    },
    spec: { deletionPolicy: 'Retain', driver, volumeGroupSnapshotRef: { uid: group.metadata.uid ?? '' } },
    status: { ...content.status, error: { message } },
  } satisfies CsiVolumeGroupSnapshotContent);
  api.seed(csiGroupSnapshotResources.volumeGroupSnapshots, {
    ...group,
    status: {
      ...group.status,
      boundVolumeGroupSnapshotContentName: 'groupcontent-1',
      readyToUse: false,
      error: { message },
    },
  });
}

/** Runs `work` while advancing the fake clock in poll steps, so its waits end. */
async function drive<T>(clock: FakeClock, work: Promise<T>, steps = 100): Promise<T> {
  const state = { done: false };
  const settled = work.finally(() => {
    state.done = true;
  });
  for (let i = 0; i < steps && !state.done; i++) await clock.advance(100);
  return settled;
}

describe('CsiGroupSnapshots.classFor', () => {
  const cases: {
    name: string;
    classes: CsiVolumeGroupSnapshotClass[];
    wanted?: string;
    want: string | undefined | RegExp;
  }[] = [
    {
      name: "the driver's one default",
      classes: [groupClass('groups'), groupClass('x', 'other.csi')],
      want: 'groups',
    },
    {
      name: 'no default for the driver: none (the held fallback)',
      classes: [groupClass('groups', driver, false)],
      want: undefined,
    },
    {
      name: 'two defaults: an error',
      classes: [groupClass('g1'), groupClass('g2')],
      want: /has 2 default VolumeGroupSnapshotClasses/,
    },
    {
      name: 'a named class of the driver',
      classes: [groupClass('fast', driver, false)],
      wanted: 'fast',
      want: 'fast',
    },
    {
      name: 'a named class that is missing',
      classes: [],
      wanted: 'fast',
      want: /^VolumeGroupSnapshotClass fast not found$/,
    },
    {
      name: 'a named class of another driver',
      classes: [groupClass('fast', 'other.csi')],
      wanted: 'fast',
      want: /is for CSI driver other.csi/,
    },
    {
      name: 'a name that is no object name',
      classes: [],
      wanted: 'Not A Name',
      want: /is not a VolumeGroupSnapshotClass name/,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { api, groups } = setUp();
      api.seed(csiGroupSnapshotResources.volumeGroupSnapshotClasses, ...c.classes);
      const result = groups.classFor(driver, c.wanted);
      if (c.want instanceof RegExp) await expect(result).rejects.toThrow(c.want);
      else await expect(result).resolves.toBe(c.want);
    });
  }

  it('the API not served (no CRDs): none', async () => {
    const { api, groups } = setUp();
    api.inject({
      resource: 'volumegroupsnapshotclasses',
      error: statusError(404, 'NotFound', 'the server could not find the requested resource'),
    });
    await expect(groups.classFor(driver, undefined)).resolves.toBeUndefined();
  });
});

describe('CsiGroupSnapshots.cut', () => {
  it('returns once the group snapshot is cut, made with the selector, class and labels', async () => {
    const { api, clock, groups } = setUp();
    const cut = groups.cut(ref, cutSpec);
    let returned = false;
    void cut.then(() => (returned = true));
    await clock.advance(300);
    expect(returned).toBe(false);
    const made = api.object<CsiVolumeGroupSnapshot>(
      csiGroupSnapshotResources.volumeGroupSnapshots,
      ref.name,
      'shop',
    );
    expect(made?.spec).toEqual({
      source: { selector: { matchLabels: { app: 'db' } } },
      volumeGroupSnapshotClassName: 'groups',
    });
    expect(made?.metadata.labels).toEqual({ l: 'v' });
    cutNow(api, false);
    await drive(clock, cut);
    expect(returned).toBe(true);
  });

  it('an error on the group snapshot: contents switched to Delete, the group snapshot deleted, final', async () => {
    const { api, clock, groups } = setUp();
    const cut = groups.cut(ref, cutSpec);
    await clock.advance(100);
    cutNow(api, false);
    const group = api.object<CsiVolumeGroupSnapshot>(
      csiGroupSnapshotResources.volumeGroupSnapshots,
      ref.name,
      'shop',
    );
    api.seed(csiGroupSnapshotResources.volumeGroupSnapshots, {
      ...group,
      status: { ...group?.status, creationTime: undefined, error: { message: 'disk said no' } },
    });
    // The sidecar's final answer: the error in the content, no longer marked being created, no handle.
    api.seed(csiGroupSnapshotResources.volumeGroupSnapshotContents, {
      metadata: { name: 'groupcontent-1', finalizers: [contentFinalizer] },
      spec: { deletionPolicy: 'Retain', driver, volumeGroupSnapshotRef: { uid: group?.metadata.uid ?? '' } },
      status: { error: { message: 'disk said no' } },
    } satisfies CsiVolumeGroupSnapshotContent);
    const failure = await drive(
      clock,
      cut.catch((e: unknown) => e),
    );
    expect(failure).toBeInstanceOf(CsiSnapshotFailed);
    expect((failure as Error).message).toBe(
      'the VolumeGroupSnapshot shop/stork-group-g1 failed: disk said no',
    );
    expect(api.objects(csiGroupSnapshotResources.volumeGroupSnapshots)).toEqual([]);
    // Each content is switched to Delete and then deleted by stork itself (kept here by its finalizer until
    // the sidecar deletes the storage): no snapshot-controller runs in this fake, as if its cache still
    // said Retain when it handled the group's deletion.
    const state = (name: string, type = csiSnapshotResources.volumeSnapshotContents) => {
      const content = api.object<CsiVolumeSnapshotContent>(type, name);
      return [content?.spec.deletionPolicy, content?.metadata.deletionTimestamp !== undefined];
    };
    expect(state('groupcontent-1', csiGroupSnapshotResources.volumeGroupSnapshotContents)).toEqual([
      'Delete',
      true,
    ]);
    // Members are cut snapshots: left to snapshot-controller with the Delete policy.
    expect(state('snapcontent-a')).toEqual(['Delete', false]);
    expect(state('snapcontent-b')).toEqual(['Delete', false]);
    // The policy was switched before the group snapshot was deleted, the contents deleted after it.
    const order = api.calls
      .filter((c) => c.verb === 'patch' || c.verb === 'delete')
      .map((c) => `${c.verb} ${c.resource}/${c.name ?? ''}`);
    expect(order).toEqual([
      'patch volumegroupsnapshotcontents/groupcontent-1',
      'patch volumesnapshotcontents/snapcontent-a',
      'patch volumesnapshotcontents/snapcontent-b',
      'delete volumegroupsnapshots/stork-group-g1',
      'patch volumegroupsnapshotcontents/groupcontent-1',
      'delete volumegroupsnapshotcontents/groupcontent-1',
    ]);
    // Marked being deleted, as snapshot-controller would: csi-snapshotter finalizes it only so.
    expect(
      api.object<CsiVolumeGroupSnapshotContent>(
        csiGroupSnapshotResources.volumeGroupSnapshotContents,
        'groupcontent-1',
      )?.metadata.annotations?.[groupSnapshotBeingDeletedAnnotation],
    ).toBe('yes');
  });

  it('discarding: a group content the storage cut (a handle) is switched to Delete, marked being deleted and deleted', async () => {
    const { api, groups } = setUp();
    api.seed(csiGroupSnapshotResources.volumeGroupSnapshots, {
      metadata: { ...ref, uid: 'g-uid' },
      spec: { source: { selector: { matchLabels: { app: 'db' } } } },
      status: { boundVolumeGroupSnapshotContentName: 'groupcontent-1' },
    } satisfies CsiVolumeGroupSnapshot);
    api.seed(csiGroupSnapshotResources.volumeGroupSnapshotContents, {
      metadata: { name: 'groupcontent-1', finalizers: [contentFinalizer] },
      spec: { deletionPolicy: 'Retain', driver, volumeGroupSnapshotRef: { uid: 'g-uid' } },
      status: { volumeGroupSnapshotHandle: 'cut-1' },
    } satisfies CsiVolumeGroupSnapshotContent);
    await groups.discard(ref);
    const content = api.object<CsiVolumeGroupSnapshotContent>(
      csiGroupSnapshotResources.volumeGroupSnapshotContents,
      'groupcontent-1',
    );
    // csi-snapshotter deletes the storage's group snapshot once it sees all three.
    expect(content?.spec.deletionPolicy).toBe('Delete');
    expect(content?.metadata.annotations?.[groupSnapshotBeingDeletedAnnotation]).toBe('yes');
    expect(content?.metadata.deletionTimestamp).toBeDefined();
  });

  it('discarding: a group content not yet in the group snapshot’s status is found by the name snapshot-controller gives it', async () => {
    const { api, groups } = setUp();
    api.seed(csiGroupSnapshotResources.volumeGroupSnapshots, {
      metadata: { ...ref, uid: 'g-uid' },
      spec: { source: { selector: { matchLabels: { app: 'db' } } } },
    } satisfies CsiVolumeGroupSnapshot);
    api.seed(csiGroupSnapshotResources.volumeGroupSnapshotContents, {
      metadata: { name: 'groupsnapcontent-g-uid', finalizers: [contentFinalizer] },
      spec: { deletionPolicy: 'Retain', driver, volumeGroupSnapshotRef: { uid: 'g-uid' } },
    } satisfies CsiVolumeGroupSnapshotContent);
    await groups.discard(ref);
    const content = api.object<CsiVolumeGroupSnapshotContent>(
      csiGroupSnapshotResources.volumeGroupSnapshotContents,
      'groupsnapcontent-g-uid',
    );
    expect(content?.spec.deletionPolicy).toBe('Delete');
    expect(content?.metadata.annotations?.[groupSnapshotBeingDeletedAnnotation]).toBe('yes');
    expect(content?.metadata.deletionTimestamp).toBeDefined();
  });

  it('discarding: a content bound to another snapshot (a namesake) is neither switched nor deleted', async () => {
    const { api, groups } = setUp();
    api.seed(csiGroupSnapshotResources.volumeGroupSnapshots, {
      metadata: { ...ref },
      spec: { source: { selector: { matchLabels: { app: 'db' } } } },
      status: { boundVolumeGroupSnapshotContentName: 'groupcontent-1' },
    } satisfies CsiVolumeGroupSnapshot);
    api.seed(csiGroupSnapshotResources.volumeGroupSnapshotContents, {
      metadata: { name: 'groupcontent-1', finalizers: [contentFinalizer] },
      spec: { deletionPolicy: 'Retain', driver, volumeGroupSnapshotRef: { uid: 'someone-else' } },
    } satisfies CsiVolumeGroupSnapshotContent);
    await groups.discard(ref);
    expect(api.objects(csiGroupSnapshotResources.volumeGroupSnapshots)).toEqual([]);
    const content = api.object<CsiVolumeGroupSnapshotContent>(
      csiGroupSnapshotResources.volumeGroupSnapshotContents,
      'groupcontent-1',
    );
    expect(content?.spec.deletionPolicy).toBe('Retain');
    expect(content?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('an error the sidecar still retries (content marked being created) is waited out until the cut', async () => {
    const { api, clock, groups } = setUp();
    const cut = groups.cut(ref, cutSpec);
    let settled: unknown = 'pending';
    void cut.then(
      () => (settled = 'cut'),
      (e: unknown) => (settled = e),
    );
    await clock.advance(100);
    groupError(api, 'storage unavailable', { beingCreated: true });
    for (let i = 0; i < 10; i++) await clock.advance(100);
    expect(settled).toBe('pending');
    expect(api.objects(csiGroupSnapshotResources.volumeGroupSnapshots)).toHaveLength(1);
    cutNow(api, false);
    await drive(clock, cut);
    expect(settled).toBe('cut');
  });

  it('a retried error past the cut timeout: deleted, final, naming the error', async () => {
    const { api, clock, groups } = setUp();
    const cut = groups.cut(ref, cutSpec).catch((e: unknown) => e);
    await clock.advance(100);
    groupError(api, 'storage unavailable', { beingCreated: true });
    const failure = await drive(clock, cut);
    expect((failure as Error).message).toBe(
      'the VolumeGroupSnapshot shop/stork-group-g1 was not cut within 5s; its last error: storage unavailable',
    );
    expect(api.objects(csiGroupSnapshotResources.volumeGroupSnapshots)).toEqual([]);
  });

  it('not cut in time: deleted, final', async () => {
    const { api, clock, groups } = setUp();
    const failure = await drive(
      clock,
      groups.cut(ref, cutSpec).catch((e: unknown) => e),
    );
    expect((failure as Error).message).toBe(
      'the VolumeGroupSnapshot shop/stork-group-g1 was not cut within 5s',
    );
    expect(api.objects(csiGroupSnapshotResources.volumeGroupSnapshots)).toEqual([]);
  });

  it('an existing one of the name is adopted, not made twice', async () => {
    const { api, clock, groups } = setUp();
    const first = groups.cut(ref, cutSpec);
    await clock.advance(100);
    cutNow(api, true);
    await drive(clock, first);
    await drive(clock, groups.cut(ref, cutSpec));
    expect(
      api.calls.filter((c) => c.verb === 'create' && c.resource === 'volumegroupsnapshots'),
    ).toHaveLength(1);
  });
});

describe('CsiGroupSnapshots.state', () => {
  it('gone, pending, then ready with its members by claim (only the ones it owns)', async () => {
    const { api, clock, groups } = setUp();
    expect(await groups.state(ref)).toEqual({ phase: 'gone' });
    const cut = groups.cut(ref, cutSpec);
    await clock.advance(100);
    cutNow(api, false);
    await drive(clock, cut);
    expect(await groups.state(ref)).toEqual({ phase: 'pending' });
    cutNow(api, true);
    const state = await groups.state(ref);
    expect(state.phase).toBe('ready');
    if (state.phase !== 'ready') return;
    expect([...state.members.entries()].map(([claim, s]) => [claim, s.id, s.ready])).toEqual([
      ['a', 'csi:shop/snapshot-a', true],
      ['b', 'csi:shop/snapshot-b', true],
    ]);
  });

  it('a readiness check the sidecar retries after the cut: pending (not failed), then ready once cleared', async () => {
    const { api, clock, groups } = setUp();
    const cut = groups.cut(ref, cutSpec);
    await clock.advance(100);
    cutNow(api, false);
    await drive(clock, cut);
    groupError(api, 'Failed to check and update group snapshot content: unavailable', {
      status: { volumeGroupSnapshotHandle: 'group-1' },
    });
    expect(await groups.state(ref)).toEqual({ phase: 'pending' });
    cutNow(api, true);
    expect((await groups.state(ref)).phase).toBe('ready');
  });

  it('a final error after the cut (its content gone): failed', async () => {
    const { api, clock, groups } = setUp();
    const cut = groups.cut(ref, cutSpec);
    await clock.advance(100);
    cutNow(api, false);
    await drive(clock, cut);
    groupError(api, 'VolumeGroupSnapshotContent is missing', {});
    await api.delete(csiGroupSnapshotResources.volumeGroupSnapshotContents, { name: 'groupcontent-1' });
    expect(await groups.state(ref)).toEqual({
      phase: 'failed',
      cause: 'the VolumeGroupSnapshot shop/stork-group-g1 failed: VolumeGroupSnapshotContent is missing',
    });
  });

  it('a retried readiness error past the ready timeout: failed, naming the error', async () => {
    const { api, clock, groups } = setUp();
    const cut = groups.cut(ref, cutSpec);
    await clock.advance(100);
    cutNow(api, false);
    await drive(clock, cut);
    groupError(api, 'unavailable', { status: { volumeGroupSnapshotHandle: 'group-1' } });
    clock.jumpWall(601_000);
    expect(await groups.state(ref)).toEqual({
      phase: 'failed',
      cause:
        'the VolumeGroupSnapshot shop/stork-group-g1 was not ready within 600s; its last error: unavailable',
    });
  });

  it('never ready within the timeout: failed with the cause', async () => {
    const clock = new FakeClock();
    const { api, groups } = setUp(clock);
    const cut = groups.cut(ref, cutSpec);
    await clock.advance(100);
    cutNow(api, false);
    await drive(clock, cut);
    clock.jumpWall(601_000);
    expect(await groups.state(ref)).toEqual({
      phase: 'failed',
      cause: 'the VolumeGroupSnapshot shop/stork-group-g1 was not ready within 600s',
    });
  });
});
