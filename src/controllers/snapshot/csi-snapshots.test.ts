import type { PersistentVolume, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { apiView } from './testing.js';
import { describe, expect, it } from 'vitest';
import type { VolumeDriver } from '../../drivers/driver.js';
import {
  beingCreatedAnnotation,
  csiSnapshotClassAnnotation,
  csiSnapshotResources,
  CsiVolumeSnapshots,
  defaultSnapshotClassAnnotation,
  type CsiVolumeSnapshot,
  type CsiVolumeSnapshotClass,
  type CsiVolumeSnapshotContent,
} from '../../drivers/csi/csi-snapshots.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import type { EventRecorder } from '../../k8s/events.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { silentLogger } from '../../lib/log.js';
import { waitFor } from '../../lib/wait.js';
import type { SnapshotHooks } from './hooks.js';
import { snapshotDataName, snapshotFinalizer } from './names.js';
import { rulesInFlightAnnotation } from './rules-in-flight.js';
import { SnapshotController } from './snapshot-controller.js';

const csiDriver = 'local.csi.example.com';

const view = apiView;

const claim: PersistentVolumeClaim = {
  metadata: { namespace: 'shop', name: 'data' },
  spec: { volumeName: 'pv-data' },
  status: { phase: 'Bound' },
};
const volume: PersistentVolume = {
  metadata: { name: 'pv-data' },
  spec: {
    csi: { driver: csiDriver, volumeHandle: 'h-1' },
    claimRef: { namespace: 'shop', name: 'data' },
  },
};
const snapshotClass = (
  name: string,
  driver = csiDriver,
  isDefault = true,
  deletionPolicy: 'Delete' | 'Retain' = 'Delete',
): CsiVolumeSnapshotClass => ({
  metadata: { name, ...(isDefault ? { annotations: { [defaultSnapshotClassAnnotation]: 'true' } } : {}) },
  driver,
  deletionPolicy,
});

type Behaviour =
  | 'cut'
  | 'error'
  | 'never'
  | 'stuck'
  | 'unavailable'
  | 'unavailable-then-cut'
  | 'flaky-ready'
  | 'flaky-ready-forever'
  | 'content-lost';

/**
 * Ticks a snapshot of `unavailable-then-cut` answers an error the sidecar retries, and then ticks its
 * VolumeSnapshot still shows that error once its content says it is cut.
 */
const unavailableTicks = 10;
const staleTicks = 10;
/** Ticks a cut snapshot of `flaky-ready` has its readiness check fail (the sidecar retries it) before it is ready. */
const flakyTicks = 20;
const checkFailed = 'Failed to check and update snapshot content: the storage is unavailable';

function withoutError<T extends { error?: unknown }>(status: T): Omit<T, 'error'> {
  const { error: _, ...rest } = status;
  return rest;
}

/** snapshot-controller's finalizer on a bound content: a deleted one stays until the sidecar is done. */
const boundProtection = 'snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection';

/**
 * What external-snapshotter does, enough for the controller: a new CSI VolumeSnapshot gets a bound
 * content and `creationTime` (cut), then `readyToUse` on the next tick; or the driver's final error; or
 * nothing; or an error the sidecar keeps retrying (its content marked being created), for good or until
 * the storage cuts the snapshot after all.
 */
function fakeSnapshotter(api: FakeKubeClient, behaviour: () => Behaviour, signal: AbortSignal): void {
  const unavailableFor = new Map<string, number>();
  const checksFailed = new Map<string, number>();
  const tick = (): void => {
    if (signal.aborted) return;
    for (const s of api.objects<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots)) {
      const content = `snapcontent-${s.metadata.uid ?? ''}`;
      const b = behaviour();
      if (b === 'never') continue;
      const ticks = unavailableFor.get(content) ?? 0;
      const retrying = b === 'unavailable' || (b === 'unavailable-then-cut' && ticks < unavailableTicks);
      if (
        b === 'unavailable-then-cut' &&
        ticks >= unavailableTicks &&
        ticks < unavailableTicks + staleTicks
      ) {
        // The sidecar's retry cut it: its content says so (a handle, no longer being created; the error
        // stays until the snapshot is ready) before the snapshot controller copies that to the
        // VolumeSnapshot, whose error is stale till then.
        unavailableFor.set(content, ticks + 1);
        api.seed(csiSnapshotResources.volumeSnapshotContents, {
          metadata: { name: content, finalizers: [boundProtection] },
          spec: {
            deletionPolicy: 'Retain',
            driver: csiDriver,
            volumeSnapshotRef: { uid: s.metadata.uid ?? '' },
          },
          status: { snapshotHandle: `handle-${content}`, error: { message: 'the disk is busy' } },
        } satisfies CsiVolumeSnapshotContent);
        continue;
      }
      if (retrying) {
        unavailableFor.set(content, ticks + 1);
        if (s.status?.error) continue;
        api.seed(csiSnapshotResources.volumeSnapshotContents, {
          metadata: {
            name: content,
            finalizers: [boundProtection],
            annotations: { [beingCreatedAnnotation]: 'yes' },
          },
          spec: {
            deletionPolicy: 'Retain',
            driver: csiDriver,
            volumeSnapshotRef: { uid: s.metadata.uid ?? '' },
          },
          status: { error: { message: 'the disk is busy' } },
        } satisfies CsiVolumeSnapshotContent);
        api.seed(csiSnapshotResources.volumeSnapshots, {
          ...s,
          status: { boundVolumeSnapshotContentName: content, error: { message: 'the disk is busy' } },
        });
      } else if (b === 'error' && !s.status?.error) {
        api.seed(csiSnapshotResources.volumeSnapshotContents, {
          metadata: { name: content, finalizers: [boundProtection] },
          spec: {
            deletionPolicy: 'Retain',
            driver: csiDriver,
            volumeSnapshotRef: { uid: s.metadata.uid ?? '' },
          },
          status: { error: { message: 'the disk said no' } },
        } satisfies CsiVolumeSnapshotContent);
        api.seed(csiSnapshotResources.volumeSnapshots, {
          ...s,
          status: { boundVolumeSnapshotContentName: content, error: { message: 'the disk said no' } },
        });
      } else if (
        (b === 'cut' ||
          b === 'stuck' ||
          b === 'unavailable-then-cut' ||
          b === 'flaky-ready' ||
          b === 'flaky-ready-forever' ||
          b === 'content-lost') &&
        !s.status?.creationTime
      ) {
        api.seed(csiSnapshotResources.volumeSnapshotContents, {
          metadata: { name: content, finalizers: [boundProtection] },
          spec: {
            deletionPolicy: 'Delete',
            driver: csiDriver,
            volumeSnapshotRef: { uid: s.metadata.uid ?? '' },
          },
          status: { snapshotHandle: `handle-${content}` },
        } satisfies CsiVolumeSnapshotContent);
        api.seed(csiSnapshotResources.volumeSnapshots, {
          ...s,
          status: {
            boundVolumeSnapshotContentName: content,
            creationTime: new Date().toISOString(),
            readyToUse: false,
          },
        });
      } else if ((b === 'cut' || b === 'unavailable-then-cut') && s.status?.readyToUse === false) {
        api.seed(csiSnapshotResources.volumeSnapshots, { ...s, status: { ...s.status, readyToUse: true } });
      } else if ((b === 'flaky-ready' || b === 'flaky-ready-forever') && s.status?.readyToUse === false) {
        // The sidecar's readiness check (ListSnapshots) fails: it writes the error into the cut content
        // and retries; the snapshot controller copies it to the VolumeSnapshot, and clears both once the
        // content is ready.
        const ticks = checksFailed.get(content) ?? 0;
        checksFailed.set(content, ticks + 1);
        const failing = b === 'flaky-ready-forever' || ticks < flakyTicks;
        api.seed(csiSnapshotResources.volumeSnapshotContents, {
          metadata: { name: content, finalizers: [boundProtection] },
          spec: {
            deletionPolicy: 'Delete',
            driver: csiDriver,
            volumeSnapshotRef: { uid: s.metadata.uid ?? '' },
          },
          status: {
            snapshotHandle: `handle-${content}`,
            ...(failing ? { error: { message: checkFailed } } : {}),
          },
        } satisfies CsiVolumeSnapshotContent);
        api.seed(csiSnapshotResources.volumeSnapshots, {
          ...s,
          status: failing
            ? { ...s.status, error: { message: checkFailed } }
            : { ...withoutError(s.status), readyToUse: true },
        });
      } else if (b === 'content-lost' && s.status?.readyToUse === false && !s.status.error) {
        // The content went (deleted by hand): the snapshot controller's own error, which is final.
        void api
          .delete(csiSnapshotResources.volumeSnapshotContents, { name: content })
          .catch(() => undefined);
        api.seed(csiSnapshotResources.volumeSnapshots, {
          ...s,
          status: { ...s.status, error: { message: 'VolumeSnapshotContent is missing' } },
        });
      }
    }
    setTimeout(tick, 5);
  };
  tick();
}

interface HookRecord {
  readonly step: 'before' | 'after';
  /** The CSI snapshot at that moment: absent, made, or cut. */
  readonly csi: 'absent' | 'made' | 'cut';
  readonly ok?: boolean;
}

function run(
  options: {
    seeds?: VolumeSnapshot[];
    classes?: CsiVolumeSnapshotClass[];
    csiSnapshots?: CsiVolumeSnapshot[];
    behaviour?: Behaviour;
    cutTimeoutMs?: number;
    readyTimeoutMs?: number;
  } = {},
) {
  const api = new FakeKubeClient({
    statusSubresources: [resources.volumeSnapshots, resources.volumeSnapshotDatas],
  });
  api.seed(resources.persistentVolumeClaims, claim);
  api.seed(resources.persistentVolumes, volume);
  api.seed(csiSnapshotResources.volumeSnapshotClasses, ...(options.classes ?? [snapshotClass('snap-local')]));
  api.seed(csiSnapshotResources.volumeSnapshots, ...(options.csiSnapshots ?? []));
  api.seed(resources.volumeSnapshots, ...(options.seeds ?? []));
  const events: { reason: string; message: string }[] = [];
  const recorder = {
    record: (_: unknown, _type: string, reason: string, message: string) => events.push({ reason, message }),
  } as unknown as EventRecorder;
  const hooked: HookRecord[] = [];
  const csiState = (): HookRecord['csi'] => {
    const s = api.objects<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots)[0];
    return !s ? 'absent' : s.status?.creationTime ? 'cut' : 'made';
  };
  const hooks: SnapshotHooks = {
    beforeSnapshot: () => {
      hooked.push({ step: 'before', csi: csiState() });
      return Promise.resolve({
        afterSnapshot: (ok) => {
          hooked.push({ step: 'after', csi: csiState(), ok });
          return Promise.resolve();
        },
      });
    },
    recover: () => Promise.resolve(),
  };
  const snapshots = new CsiVolumeSnapshots({
    api,
    volumeByHandle: (handle) =>
      api
        .objects<PersistentVolume>(resources.persistentVolumes)
        .find((pv) => pv.spec?.csi?.volumeHandle === handle),
    seedAnnotations: (namespace, name) =>
      Promise.resolve(
        api.object<VolumeSnapshot>(resources.volumeSnapshots, name, namespace)?.metadata.annotations,
      ),
    pollIntervalMs: 5,
    cutTimeoutMs: options.cutTimeoutMs ?? 5000,
    ...(options.readyTimeoutMs !== undefined ? { readyTimeoutMs: options.readyTimeoutMs } : {}),
  });
  const driver = {
    name: 'csi',
    volumeIdOf: (pv: PersistentVolume) => pv.spec?.csi?.volumeHandle,
  } as unknown as VolumeDriver;
  const controller = new SnapshotController({
    api,
    driver,
    snapshots,
    hooks,
    pollIntervalMs: 10,
    // The views have no events: a short resync is how the controller sees a deletion here.
    resyncIntervalMs: 20,
    volumeSnapshots: view(api, resources.volumeSnapshots),
    claims: view(api, resources.persistentVolumeClaims),
    volumes: view(api, resources.persistentVolumes),
    events: recorder,
    logger: silentLogger,
  });
  const stop = new AbortController();
  fakeSnapshotter(api, () => options.behaviour ?? 'cut', stop.signal);
  const running = controller.run(stop.signal);
  const seed = (name: string) => api.object<VolumeSnapshot>(resources.volumeSnapshots, name, 'shop');
  return {
    api,
    events,
    hooked,
    seed,
    csiSnapshots: () => api.objects<CsiVolumeSnapshot>(csiSnapshotResources.volumeSnapshots),
    async until<T>(what: string, check: () => T | undefined | false): Promise<T> {
      return waitFor(what, () => check() || undefined, { timeoutMs: 5000, intervalMs: 5 });
    },
    async stop(): Promise<void> {
      stop.abort();
      await running.catch(() => undefined);
    },
  };
}

const seedSnapshot = (uid: string, annotations?: Record<string, string>): VolumeSnapshot => ({
  metadata: { namespace: 'shop', name: `snap-${uid}`, uid, ...(annotations ? { annotations } : {}) },
  spec: { persistentVolumeClaimName: 'data' },
});
const state = (s: VolumeSnapshot | undefined) => s?.status?.conditions?.at(-1);

describe('SnapshotController on CSI storage (snapshot.storage.k8s.io)', () => {
  it('holds the pre-rule until the CSI snapshot is cut, then runs the post-rule, and is Ready once it is readyToUse', async () => {
    const t = run({ seeds: [seedSnapshot('u-1')] });
    try {
      const ready = await t.until(
        'Ready',
        () => state(t.seed('snap-u-1'))?.type === 'Ready' && t.seed('snap-u-1'),
      );
      expect(t.hooked).toEqual([
        { step: 'before', csi: 'absent' },
        { step: 'after', csi: 'cut', ok: true },
      ]);
      const [csi] = t.csiSnapshots();
      expect(csi?.metadata).toMatchObject({ namespace: 'shop', name: 'snapshot-u-1' });
      expect(csi?.spec).toEqual({
        source: { persistentVolumeClaimName: 'data' },
        volumeSnapshotClassName: 'snap-local',
      });
      expect(ready.spec.snapshotDataName).toBe(snapshotDataName('u-1'));
      const data = t.api.object<VolumeSnapshotData>(resources.volumeSnapshotDatas, snapshotDataName('u-1'));
      expect(data?.spec.csiSnapshot).toMatchObject({
        namespace: 'shop',
        name: 'snapshot-u-1',
        volumeSnapshotClassName: 'snap-local',
        volumeSnapshotContentName: `snapcontent-${csi?.metadata.uid ?? ''}`,
      });
    } finally {
      await t.stop();
    }
  });

  it('takes the class the annotation names', async () => {
    const t = run({
      seeds: [seedSnapshot('u-2', { [csiSnapshotClassAnnotation]: 'snap-fast' })],
      classes: [snapshotClass('snap-local'), snapshotClass('snap-fast', csiDriver, false)],
    });
    try {
      await t.until('Ready', () => state(t.seed('snap-u-2'))?.type === 'Ready');
      expect(t.csiSnapshots()[0]?.spec.volumeSnapshotClassName).toBe('snap-fast');
    } finally {
      await t.stop();
    }
  });

  it.each([
    [
      'no class for the driver',
      { classes: [snapshotClass('other', 'other.csi.example.com')] },
      {},
      /no VolumeSnapshotClass for CSI driver local\.csi\.example\.com/,
    ],
    [
      'two default classes',
      { classes: [snapshotClass('a'), snapshotClass('b')] },
      {},
      /2 default VolumeSnapshotClasses/,
    ],
    [
      'a named class of another driver',
      { classes: [snapshotClass('other', 'other.csi.example.com', false)] },
      { [csiSnapshotClassAnnotation]: 'other' },
      /is for CSI driver other\.csi\.example\.com/,
    ],
    [
      'a named class that does not exist',
      {},
      { [csiSnapshotClassAnnotation]: 'missing' },
      /VolumeSnapshotClass missing not found/,
    ],
    [
      'the driver’s error',
      { behaviour: 'error' as const },
      {},
      /the CSI snapshot shop\/snapshot-u-3 failed: the disk said no/,
    ],
    ['no cut in time', { behaviour: 'never' as const, cutTimeoutMs: 100 }, {}, /was not cut within 0s/],
  ])(
    'ends in Error with the cause and leaves no CSI snapshot behind: %s',
    async (_, options, annotations, cause) => {
      const t = run({ ...options, seeds: [seedSnapshot('u-3', annotations)] });
      try {
        const failed = await t.until(
          'Error',
          () => state(t.seed('snap-u-3'))?.type === 'Error' && state(t.seed('snap-u-3')),
        );
        expect(failed.message).toMatch(/^snapshot failed due to err: /);
        expect(failed.message).toMatch(cause);
        expect(t.csiSnapshots()).toEqual([]);
        expect(t.events.map((e) => e.reason)).toContain('SnapshotFailed');
        // The post rule runs only for a snapshot taken; the hold is released either way.
        expect(t.hooked.filter((h) => h.step === 'after' && h.ok === true)).toEqual([]);
      } finally {
        await t.stop();
      }
    },
  );

  it.each([
    ['a long name', 'x'.repeat(100_000)],
    ['a path', '../../api/v1/namespaces/kube-system/secrets/x'],
    ['upper case', 'Snap-Fast'],
  ])(
    'refuses an annotation that is no VolumeSnapshotClass name, bounded, never asking the API: %s',
    async (_, wanted) => {
      const t = run({ seeds: [seedSnapshot('u-8', { [csiSnapshotClassAnnotation]: wanted })] });
      try {
        const failed = await t.until(
          'Error',
          () => state(t.seed('snap-u-8'))?.type === 'Error' && state(t.seed('snap-u-8')),
        );
        expect(failed.message).toMatch(/is not a VolumeSnapshotClass name/);
        // Whatever the tenant wrote is echoed 80 characters at most, in the condition and in events.
        for (const text of [failed.message ?? '', ...t.events.map((e) => e.message)]) {
          expect(text.length).toBeLessThan(600);
          if (wanted.length > 80) expect(text).not.toContain(wanted.slice(0, 81));
        }
        expect(t.csiSnapshots()).toEqual([]);
        expect(t.api.calls.some((c) => c.resource === 'volumesnapshotclasses' && c.verb === 'get')).toBe(
          false,
        );
      } finally {
        await t.stop();
      }
    },
  );

  it('a cut snapshot that never becomes readyToUse ends in Error once its time is up, and is deleted', async () => {
    const t = run({ behaviour: 'stuck', readyTimeoutMs: 200, seeds: [seedSnapshot('u-7')] });
    try {
      const failed = await t.until(
        'Error',
        () => state(t.seed('snap-u-7'))?.type === 'Error' && state(t.seed('snap-u-7')),
      );
      expect(failed.message).toMatch(/the CSI snapshot shop\/snapshot-u-7 was not ready within 0s/);
      // The rules ran around the cut, as for any snapshot taken.
      expect(t.hooked).toEqual([
        { step: 'before', csi: 'absent' },
        { step: 'after', csi: 'cut', ok: true },
      ]);
      expect(t.csiSnapshots()).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('an error the sidecar still retries is waited out: the snapshot is cut and Ready, under one hold', async () => {
    const t = run({ behaviour: 'unavailable-then-cut', seeds: [seedSnapshot('u-11')] });
    try {
      await t.until('Ready', () => state(t.seed('snap-u-11'))?.type === 'Ready');
      expect(t.hooked).toEqual([
        { step: 'before', csi: 'absent' },
        { step: 'after', csi: 'cut', ok: true },
      ]);
      expect(t.csiSnapshots().map((s) => s.metadata.name)).toEqual(['snapshot-u-11']);
    } finally {
      await t.stop();
    }
  });

  it('an error the sidecar retries past the cut timeout ends in Error naming it, and the snapshot goes', async () => {
    const t = run({ behaviour: 'unavailable', cutTimeoutMs: 200, seeds: [seedSnapshot('u-12')] });
    try {
      const failed = await t.until(
        'Error',
        () => state(t.seed('snap-u-12'))?.type === 'Error' && state(t.seed('snap-u-12')),
      );
      expect(failed.message).toBe(
        'snapshot failed due to err: the CSI snapshot shop/snapshot-u-12 was not cut within 0s; its last ' +
          'error: the disk is busy',
      );
      expect(t.csiSnapshots()).toEqual([]);
      const contents = t.api.objects<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents);
      // Switched to Delete, then deleted by stork (kept by its finalizer till the sidecar is done).
      expect(
        contents.map((c) => [c.spec.deletionPolicy, c.metadata.deletionTimestamp !== undefined]),
      ).toEqual([['Delete', true]]);
    } finally {
      await t.stop();
    }
  });

  it('an error of a cut snapshot’s readiness check, which the sidecar retries, is waited out: Ready', async () => {
    const t = run({ behaviour: 'flaky-ready', seeds: [seedSnapshot('u-13')] });
    try {
      await t.until('the retried error seen', () =>
        t.csiSnapshots().some((s) => s.status?.error?.message === checkFailed),
      );
      const ready = await t.until(
        'Ready or Error',
        () =>
          ['Ready', 'Error'].includes(state(t.seed('snap-u-13'))?.type ?? '') && state(t.seed('snap-u-13')),
      );
      expect(ready.type).toBe('Ready');
      expect(t.hooked).toEqual([
        { step: 'before', csi: 'absent' },
        { step: 'after', csi: 'cut', ok: true },
      ]);
      expect(t.csiSnapshots().map((s) => s.metadata.name)).toEqual(['snapshot-u-13']);
    } finally {
      await t.stop();
    }
  });

  it('a readiness error the sidecar retries past the ready timeout ends in Error naming it, and the snapshot goes', async () => {
    const t = run({ behaviour: 'flaky-ready-forever', readyTimeoutMs: 300, seeds: [seedSnapshot('u-14')] });
    try {
      const failed = await t.until(
        'Error',
        () => state(t.seed('snap-u-14'))?.type === 'Error' && state(t.seed('snap-u-14')),
      );
      expect(failed.message).toBe(
        'snapshot failed due to err: the CSI snapshot shop/snapshot-u-14 was not ready within 0s; its last ' +
          `error: ${checkFailed}`,
      );
      expect(t.csiSnapshots()).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('a cut snapshot whose content is lost ends in Error at once (a final error), and goes', async () => {
    const t = run({ behaviour: 'content-lost', seeds: [seedSnapshot('u-15')] });
    try {
      const failed = await t.until(
        'Error',
        () => state(t.seed('snap-u-15'))?.type === 'Error' && state(t.seed('snap-u-15')),
      );
      expect(failed.message).toBe(
        'snapshot failed due to err: the CSI snapshot shop/snapshot-u-15 failed: VolumeSnapshotContent is missing',
      );
      expect(t.csiSnapshots()).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('a restarted stork that finds its uncut CSI snapshot with an error the sidecar retries adopts it and waits', async () => {
    const t = run({
      behaviour: 'never',
      seeds: [seedSnapshot('u-16')],
      csiSnapshots: [
        {
          metadata: {
            namespace: 'shop',
            name: 'snapshot-u-16',
            uid: 'csi-16',
            labels: { 'stork.libopenstorage.org/snapshot': 'snapshot-u-16' },
          },
          spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'snap-local' },
          status: {
            boundVolumeSnapshotContentName: 'snapcontent-csi-16',
            error: { message: 'the disk is busy' },
          },
        },
      ],
    });
    t.api.seed(csiSnapshotResources.volumeSnapshotContents, {
      metadata: { name: 'snapcontent-csi-16', annotations: { [beingCreatedAnnotation]: 'yes' } },
      spec: { deletionPolicy: 'Delete', driver: csiDriver },
      status: { error: { message: 'the disk is busy' } },
    } satisfies CsiVolumeSnapshotContent);
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(state(t.seed('snap-u-16'))?.type).toBe('Pending');
      expect(t.csiSnapshots().map((s) => s.metadata.uid)).toEqual(['csi-16']);
      // The sidecar's retry cuts it, and it becomes ready.
      t.api.seed(csiSnapshotResources.volumeSnapshotContents, {
        metadata: { name: 'snapcontent-csi-16' },
        spec: { deletionPolicy: 'Delete', driver: csiDriver },
        status: { snapshotHandle: 'handle-16' },
      } satisfies CsiVolumeSnapshotContent);
      const [csi] = t.csiSnapshots();
      if (!csi) throw new Error('no CSI snapshot');
      t.api.seed(csiSnapshotResources.volumeSnapshots, {
        ...csi,
        status: {
          boundVolumeSnapshotContentName: 'snapcontent-csi-16',
          creationTime: new Date().toISOString(),
          readyToUse: true,
        },
      });
      await t.until('Ready', () => state(t.seed('snap-u-16'))?.type === 'Ready');
      expect(t.api.callsTo({ verb: 'create', resource: 'volumesnapshots' })).toEqual([]);
      expect(t.hooked).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('a restarted stork that finds the earlier CSI snapshot failed ends in Error and removes it', async () => {
    const t = run({
      behaviour: 'never',
      seeds: [seedSnapshot('u-8')],
      csiSnapshots: [
        {
          metadata: {
            namespace: 'shop',
            name: 'snapshot-u-8',
            labels: { 'stork.libopenstorage.org/snapshot': 'snapshot-u-8' },
          },
          spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'snap-local' },
          status: { error: { message: 'out of space' } },
        },
      ],
    });
    try {
      const failed = await t.until(
        'Error',
        () => state(t.seed('snap-u-8'))?.type === 'Error' && state(t.seed('snap-u-8')),
      );
      expect(failed.message).toMatch(/snapshot-u-8 failed: out of space/);
      expect(t.csiSnapshots()).toEqual([]);
      expect(t.hooked).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('a failed snapshot’s retained content is switched to Delete before it goes, so the storage keeps nothing', async () => {
    const t = run({ behaviour: 'error', seeds: [seedSnapshot('u-4')] });
    try {
      await t.until('Error', () => state(t.seed('snap-u-4'))?.type === 'Error');
      const contents = t.api.objects<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents);
      // Switched to Delete, then deleted by stork (kept by its finalizer till the sidecar is done).
      expect(
        contents.map((c) => [c.spec.deletionPolicy, c.metadata.deletionTimestamp !== undefined]),
      ).toEqual([['Delete', true]]);
    } finally {
      await t.stop();
    }
  });

  it('a restarted stork adopts the CSI snapshot an earlier run made: no second one, no second rule run', async () => {
    const t = run({
      seeds: [seedSnapshot('u-5')],
      csiSnapshots: [
        {
          metadata: {
            namespace: 'shop',
            name: 'snapshot-u-5',
            labels: { 'stork.libopenstorage.org/snapshot': 'snapshot-u-5' },
          },
          spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'snap-local' },
        },
      ],
    });
    try {
      await t.until('Ready', () => state(t.seed('snap-u-5'))?.type === 'Ready');
      expect(t.api.callsTo({ verb: 'create', resource: 'volumesnapshots' })).toEqual([]);
      expect(t.csiSnapshots()).toHaveLength(1);
      expect(t.hooked).toEqual([]);
    } finally {
      await t.stop();
    }
  });

  it('a CSI snapshot an earlier stork made before it recorded the cut is discarded (Retain or not) and taken again', async () => {
    const t = run({
      seeds: [seedSnapshot('u-9', { [rulesInFlightAnnotation]: '{"pre":"running","cut":false}' })],
      classes: [snapshotClass('snap-local', csiDriver, true, 'Retain')],
      csiSnapshots: [
        {
          metadata: {
            namespace: 'shop',
            name: 'snapshot-u-9',
            uid: 'old',
            labels: { 'stork.libopenstorage.org/snapshot': 'snapshot-u-9' },
          },
          spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'snap-local' },
          status: {
            boundVolumeSnapshotContentName: 'snapcontent-old',
            creationTime: '2026-01-01T00:00:00Z',
            readyToUse: true,
          },
        },
      ],
    });
    t.api.seed(csiSnapshotResources.volumeSnapshotContents, {
      metadata: { name: 'snapcontent-old' },
      spec: { deletionPolicy: 'Retain', driver: csiDriver, volumeSnapshotRef: { uid: 'old' } },
    } satisfies CsiVolumeSnapshotContent);
    try {
      const ready = await t.until(
        'Ready',
        () => state(t.seed('snap-u-9'))?.type === 'Ready' && t.seed('snap-u-9'),
      );
      // The rules run again around a new cut; the old snapshot's storage goes whatever its class says.
      expect(t.hooked).toEqual([
        { step: 'before', csi: 'absent' },
        { step: 'after', csi: 'cut', ok: true },
      ]);
      expect(t.csiSnapshots().map((c) => c.metadata.uid)).not.toContain('old');
      const old = t.api.object<CsiVolumeSnapshotContent>(
        csiSnapshotResources.volumeSnapshotContents,
        'snapcontent-old',
      );
      expect(old?.spec.deletionPolicy ?? 'gone').not.toBe('Retain');
      expect(ready.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
      expect(t.events.map((e) => e.reason)).toContain('SnapshotRetaken');
    } finally {
      await t.stop();
    }
  });

  it('a CSI snapshot of the same name still being deleted (discarded by a restarted stork) is waited for, not adopted', async () => {
    const held = 'example.com/not-yet';
    const t = run({
      seeds: [seedSnapshot('u-11', { [rulesInFlightAnnotation]: '{"pre":"running","cut":false}' })],
      csiSnapshots: [
        {
          metadata: {
            namespace: 'shop',
            name: 'snapshot-u-11',
            uid: 'old',
            labels: { 'stork.libopenstorage.org/snapshot': 'snapshot-u-11' },
            // external-snapshotter's finalizers, which it takes off only once the content is gone.
            finalizers: [held],
          },
          spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'snap-local' },
          status: {
            boundVolumeSnapshotContentName: 'snapcontent-old',
            creationTime: '2026-01-01T00:00:00Z',
            readyToUse: true,
          },
        },
      ],
    });
    const ref = { namespace: 'shop', name: 'snapshot-u-11' };
    try {
      // The restarted stork discards it (it was not cut under the pre rule) and runs the pre rule again.
      await t.until('the pre rule run again', () => t.hooked.length > 0);
      await t.until('the old one being deleted', () =>
        t.csiSnapshots().some((c) => c.metadata.uid === 'old' && c.metadata.deletionTimestamp),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(state(t.seed('snap-u-11'))?.type).toBe('Pending');
      // Held in the pre rule, waiting: nothing cut yet under it, nothing handed out.
      expect(t.hooked.map((h) => h.step)).toEqual(['before']);
      await t.api.patch(csiSnapshotResources.volumeSnapshots, ref, { metadata: { finalizers: [] } });
      const ready = await t.until(
        'Ready',
        () => state(t.seed('snap-u-11'))?.type === 'Ready' && t.seed('snap-u-11'),
      );
      const [csi, ...more] = t.csiSnapshots();
      expect(more).toEqual([]);
      expect(csi?.metadata.uid).not.toBe('old');
      const data = t.api.object<VolumeSnapshotData>(
        resources.volumeSnapshotDatas,
        ready.spec.snapshotDataName ?? '',
      );
      expect(data?.spec.csiSnapshot).toMatchObject({
        name: 'snapshot-u-11',
        volumeSnapshotContentName: `snapcontent-${csi?.metadata.uid ?? ''}`,
      });
      expect(t.hooked.at(-1)).toEqual({ step: 'after', csi: 'cut', ok: true });
    } finally {
      await t.stop();
    }
  });

  it('deleting the snapshot deletes the CSI snapshot it made and the data, then lets it go', async () => {
    const t = run({ seeds: [seedSnapshot('u-6')] });
    try {
      await t.until('Ready', () => state(t.seed('snap-u-6'))?.type === 'Ready');
      expect(t.seed('snap-u-6')?.metadata.finalizers).toContain(snapshotFinalizer);
      await t.api.delete(resources.volumeSnapshots, { namespace: 'shop', name: 'snap-u-6' });
      await t.until('gone', () => t.seed('snap-u-6') === undefined);
      expect(t.csiSnapshots()).toEqual([]);
      expect(t.api.object(resources.volumeSnapshotDatas, snapshotDataName('u-6'))).toBeUndefined();
      // Finished: its content is left to the class's deletion policy (not switched).
      const contents = t.api.objects<CsiVolumeSnapshotContent>(csiSnapshotResources.volumeSnapshotContents);
      expect(t.api.callsTo({ verb: 'patch', resource: 'volumesnapshotcontents' })).toEqual([]);
      expect(contents).toHaveLength(1);
    } finally {
      await t.stop();
    }
  });
});
