import type { ObjectReference, PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SchedulePolicy, SchedulePolicyItem } from '../../k8s/crds/schedule-policy.js';
import type { VolumeSnapshotSchedule } from '../../k8s/crds/volume-snapshot-schedule.js';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { statusError } from '../../k8s/errors.js';
import { FakeClock } from '../../lib/fake-clock.js';
import { silentLogger } from '../../lib/log.js';
import { snapshotAnnotation } from '../snapshot/names.js';
import { dueTimeAnnotation, scheduleUidAnnotation } from './names.js';
import { ScheduleController, type ScheduleMetrics } from './schedule-controller.js';
import { TimeZone } from './time-zone.js';

const ns = 'prod';
const minute = 60_000;

interface Recorded {
  kind: string;
  name: string;
  type: string;
  reason: string;
  message: string;
}

let clock: FakeClock;
let client: FakeKubeClient;
let events: Recorded[];
let outcomes: Record<string, number>;
let lastSuccess: Map<string, number>;
let signal: AbortSignal;

function controller(): ScheduleController {
  const metrics: ScheduleMetrics = {
    snapshot: (outcome, count = 1) => {
      outcomes[outcome] = (outcomes[outcome] ?? 0) + count;
    },
    lastSuccess: (namespace, name, seconds) => lastSuccess.set(`${namespace}/${name}`, seconds),
    suspended: () => undefined,
    forget: (namespace, name) => lastSuccess.delete(`${namespace}/${name}`),
  };
  return new ScheduleController({
    client,
    clock,
    zone: new TimeZone('UTC'),
    logger: silentLogger,
    metrics,
    events: {
      record: (o: ObjectReference, type, reason, message) =>
        events.push({ kind: o.kind ?? '', name: o.name ?? '', type, reason, message }),
    },
  });
}

beforeEach(() => {
  clock = new FakeClock({ wall: Date.parse('2026-01-01T00:00:00Z') });
  client = new FakeKubeClient({
    clock,
    statusSubresources: [resources.volumeSnapshotSchedules, resources.volumeSnapshots],
  });
  events = [];
  outcomes = {};
  lastSuccess = new Map();
  signal = new AbortController().signal;
});

function policy(name: string, item: SchedulePolicyItem, namespace?: string): void {
  const body: SchedulePolicy = {
    apiVersion: 'stork.libopenstorage.org/v1alpha1',
    kind: namespace ? 'NamespacedSchedulePolicy' : 'SchedulePolicy',
    metadata: { name, ...(namespace ? { namespace } : {}) },
    policy: item,
  };
  client.seed(namespace ? resources.namespacedSchedulePolicies : resources.schedulePolicies, body);
}

function schedule(spec: Partial<NonNullable<VolumeSnapshotSchedule['spec']>> = {}, name = 'nightly'): void {
  client.seed(resources.volumeSnapshotSchedules, {
    apiVersion: 'stork.libopenstorage.org/v1alpha1',
    kind: 'VolumeSnapshotSchedule',
    metadata: { name, namespace: ns, uid: `uid-of-${name}-0042`, annotations: { team: 'db' } },
    spec: { schedulePolicyName: 'every', template: { spec: { persistentVolumeClaimName: 'data' } }, ...spec },
  } satisfies VolumeSnapshotSchedule);
}

const snapshots = (): VolumeSnapshot[] => client.objects<VolumeSnapshot>(resources.volumeSnapshots, ns);
const names = (): string[] =>
  snapshots()
    .map((s) => s.metadata.name ?? '')
    .sort();
const status = (name = 'nightly') =>
  client.object<VolumeSnapshotSchedule>(resources.volumeSnapshotSchedules, name, ns)?.status;

/** What the snapshot controller would do: the snapshot ends Ready (or Error). */
async function settle(name: string, type: 'Ready' | 'Error' = 'Ready', message = ''): Promise<void> {
  const current = client.object<VolumeSnapshot>(resources.volumeSnapshots, name, ns);
  if (!current) throw new Error(`no snapshot ${name}`);
  await client.replace(
    resources.volumeSnapshots,
    { namespace: ns, name, subresource: 'status' },
    {
      ...current,
      status: {
        conditions: [
          { type, status: 'True', lastTransitionTime: new Date(clock.wallNow()).toISOString(), message },
        ],
      },
    },
  );
  if (type === 'Ready') {
    await client.patch(
      resources.volumeSnapshots,
      { namespace: ns, name },
      { spec: { snapshotDataName: `data-${name}` } },
    );
  }
}
const settleAll = async (): Promise<void> => {
  for (const s of snapshots()) if (!s.status?.conditions?.length) await settle(s.metadata.name ?? '');
};

describe('ScheduleController', () => {
  it('takes the first interval run at once, as a seed-API VolumeSnapshot named for the run', async () => {
    policy('every', {
      interval: { intervalMinutes: 1, retain: 2, options: { 'portworx/snapshot-type': 'local' } },
    });
    schedule({ preExecRule: 'freeze', postExecRule: 'thaw' });
    for (const rule of ['freeze', 'thaw'])
      client.seed(resources.rules, { metadata: { name: rule, namespace: ns } });
    await controller().syncAll(signal);
    const [taken] = snapshots();
    expect(taken?.metadata.name).toBe('nightly-interval-0042-2026-01-01-000000');
    expect(taken?.spec).toEqual({ persistentVolumeClaimName: 'data' });
    expect(taken?.metadata.annotations).toMatchObject({
      team: 'db',
      'stork.libopenstorage.org/snapshotScheduleName': 'nightly',
      'stork.libopenstorage.org/snapshotSchedulePolicyType': 'Interval',
      'stork.libopenstorage.org/pre-snapshot-rule': 'freeze',
      'stork.libopenstorage.org/post-snapshot-rule': 'thaw',
      'portworx/snapshot-type': 'local',
      [scheduleUidAnnotation]: 'uid-of-nightly-0042',
      [dueTimeAnnotation]: '2026-01-01T00:00:00Z',
    });
    expect(taken?.metadata.labels).toEqual({ 'stork.libopenstorage.org/snapshotName': taken?.metadata.name });
    // reclaimPolicy unset is Stork's Delete: the garbage collector deletes the snapshots with the schedule.
    expect(taken?.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'VolumeSnapshotSchedule',
        name: 'nightly',
        uid: 'uid-of-nightly-0042',
      }),
    ]);
    expect(status()?.items?.Interval).toEqual([
      { name: taken?.metadata.name, creationTimestamp: '2026-01-01T00:00:00Z', status: 'Pending' },
    ]);
    expect(status()?.lastDue).toEqual({ Interval: '2026-01-01T00:00:00Z' });
    expect(status()?.conditions?.[0]).toMatchObject({ status: 'True', reason: 'Active' });
    expect(outcomes).toEqual({ created: 1 });
  });

  it('writes the status only when it changes', async () => {
    policy('every', { interval: { intervalMinutes: 1 } });
    schedule();
    const c = controller();
    await c.syncAll(signal);
    await settleAll();
    await c.syncAll(signal);
    client.clearCalls();
    await clock.advance(10_000);
    await c.syncAll(signal);
    expect(client.writes()).toEqual([]);
  });

  it('with reclaimPolicy Retain, the snapshots have no owner; changing it changes theirs', async () => {
    policy('every', { interval: { intervalMinutes: 1 } });
    schedule({ reclaimPolicy: 'Retain' });
    const c = controller();
    await c.syncAll(signal);
    expect(snapshots()[0]?.metadata.ownerReferences).toBeUndefined();
    await client.patch(
      resources.volumeSnapshotSchedules,
      { namespace: ns, name: 'nightly' },
      { spec: { reclaimPolicy: 'Delete' } },
    );
    await c.syncAll(signal);
    expect(snapshots()[0]?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ uid: 'uid-of-nightly-0042' }),
    ]);
    await client.patch(
      resources.volumeSnapshotSchedules,
      { namespace: ns, name: 'nightly' },
      { spec: { reclaimPolicy: 'Retain' } },
    );
    await c.syncAll(signal);
    expect(snapshots()[0]?.metadata.ownerReferences ?? []).toEqual([]);
  });

  it('waits for a snapshot in progress, then takes the next slot once it is due; status follows', async () => {
    policy('every', { interval: { intervalMinutes: 1, retain: 5 } });
    schedule();
    const c = controller();
    await c.syncAll(signal);
    await clock.advance(90_000);
    await c.syncAll(signal);
    expect(names()).toHaveLength(1); // the first is still Pending
    await settleAll();
    await c.syncAll(signal);
    expect(names()).toEqual([
      'nightly-interval-0042-2026-01-01-000000',
      'nightly-interval-0042-2026-01-01-000100',
    ]);
    const items = status()?.items?.Interval ?? [];
    expect(items.map((i) => i.status)).toEqual(['Ready', 'Pending']);
    expect(items[0]?.finishTimestamp).toBe('2026-01-01T00:01:30.000Z');
    expect(status()?.lastSnapshotName).toBe('nightly-interval-0042-2026-01-01-000100');
    expect(status()?.lastSuccessTime).toBe('2026-01-01T00:01:30.000Z');
    expect(lastSuccess.get('prod/nightly')).toBe(Date.parse('2026-01-01T00:01:30Z') / 1000);
    expect(events.filter((e) => e.reason === 'Ready')).toHaveLength(1);
    // Nothing more is due until 00:02:00.
    await settleAll();
    await clock.advance(29_000);
    await c.syncAll(signal);
    expect(names()).toHaveLength(2);
  });

  it('keeps the newest `retain`, deleting only its own, and only once no restore reads them', async () => {
    policy('every', { interval: { intervalMinutes: 1, retain: 2 } });
    schedule();
    // A namesake's snapshot (another schedule UID) and a hand-made one: never this schedule's to delete.
    client.seed(resources.volumeSnapshots, {
      metadata: {
        name: 'old-namesake',
        namespace: ns,
        creationTimestamp: '2025-01-01T00:00:00Z',
        annotations: {
          'stork.libopenstorage.org/snapshotScheduleName': 'nightly',
          'stork.libopenstorage.org/snapshotSchedulePolicyType': 'Interval',
          [scheduleUidAnnotation]: 'someone-else',
        },
      },
      spec: { persistentVolumeClaimName: 'data' },
    });
    const c = controller();
    for (let i = 0; i < 3; i++) {
      await c.syncAll(signal);
      await settleAll();
      await clock.advance(minute);
    }
    const first = 'nightly-interval-0042-2026-01-01-000000';
    // A claim being restored from the oldest holds it.
    client.seed(resources.persistentVolumeClaims, {
      metadata: { name: 'restore', namespace: ns, annotations: { [snapshotAnnotation]: first } },
      spec: {},
      status: { phase: 'Pending' },
    } satisfies PersistentVolumeClaim);
    await c.syncAll(signal);
    expect(names()).toContain(first);
    expect(names()).toContain('old-namesake');
    expect(events.some((e) => e.reason === 'SnapshotInUse' && e.message.includes(first))).toBe(true);
    // The restore is done: it goes.
    await client.patch(
      resources.persistentVolumeClaims,
      { namespace: ns, name: 'restore', subresource: 'status' },
      { status: { phase: 'Bound' } },
    );
    await settleAll();
    await c.syncAll(signal);
    expect(names()).toEqual([
      'nightly-interval-0042-2026-01-01-000200',
      'nightly-interval-0042-2026-01-01-000300',
      'old-namesake',
    ]);
    expect(status()?.items?.Interval?.map((i) => i.name)).toEqual([
      'nightly-interval-0042-2026-01-01-000200',
      'nightly-interval-0042-2026-01-01-000300',
    ]);
  });

  it('after downtime, a missed run is taken once, with a Warning that says how many were missed', async () => {
    policy('every', { interval: { intervalMinutes: 1 } });
    schedule();
    await controller().syncAll(signal);
    await settleAll();
    await clock.advance(10 * minute + 5_000);
    // A new leader (a fresh controller) comes up.
    await controller().syncAll(signal);
    expect(names()).toEqual([
      'nightly-interval-0042-2026-01-01-000000',
      'nightly-interval-0042-2026-01-01-001000',
    ]);
    expect(events.find((e) => e.reason === 'ScheduledSnapshotsMissed')?.message).toMatch(
      /^9 Interval run\(s\)/,
    );
    expect(outcomes.skipped).toBe(9);
  });

  it('a run taken just before a failover (status not written) is adopted, not taken again', async () => {
    policy('every', { interval: { intervalMinutes: 1 } });
    schedule();
    client.inject({
      verb: 'replace',
      resource: 'volumesnapshotschedules',
      subresource: 'status',
      error: statusError(500, 'InternalError', 'lost'),
    });
    await controller().syncAll(signal);
    expect(names()).toHaveLength(1);
    expect(status()?.items).toBeUndefined();
    // The next leader, still within the same slot and after it.
    await clock.advance(20_000);
    await controller().syncAll(signal);
    expect(names()).toHaveLength(1);
    expect(status()?.items?.Interval?.map((i) => i.name)).toEqual(names());
    expect(status()?.lastDue?.Interval).toBe('2026-01-01T00:00:00Z');
    // Two replicas racing for the same run make one snapshot: the name is the run's.
    await settleAll();
    await clock.advance(minute);
    await Promise.all([controller().syncAll(signal), controller().syncAll(signal)]);
    expect(names()).toHaveLength(2);
  });

  it('suspend takes nothing; resume takes the latest slot once', async () => {
    policy('every', { interval: { intervalMinutes: 1 } });
    schedule({ suspend: true });
    const c = controller();
    await c.syncAll(signal);
    await clock.advance(5 * minute);
    await c.syncAll(signal);
    expect(names()).toEqual([]);
    expect(status()?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'Suspended' });
    await client.patch(
      resources.volumeSnapshotSchedules,
      { namespace: ns, name: 'nightly' },
      { spec: { suspend: false } },
    );
    await c.syncAll(signal);
    await c.syncAll(signal);
    expect(names()).toEqual(['nightly-interval-0042-2026-01-01-000500']);
  });

  it('a NamespacedSchedulePolicy in the schedule namespace wins over the SchedulePolicy of that name', async () => {
    policy('every', { interval: { intervalMinutes: 1, options: { from: 'cluster' } } });
    policy('every', { interval: { intervalMinutes: 1, options: { from: 'namespace' } } }, ns);
    policy('every', { interval: { intervalMinutes: 1, options: { from: 'elsewhere' } } }, 'other');
    schedule();
    await controller().syncAll(signal);
    expect(snapshots()[0]?.metadata.annotations?.from).toBe('namespace');
    expect(status()?.conditions?.[0]?.message).toBe('following NamespacedSchedulePolicy every');
  });

  it.each<[string, SchedulePolicyItem, RegExp]>([
    ['a bad time', { daily: { time: '25:00' } }, /Invalid time \(25:00\) in Daily policy/],
    ['a bad day', { weekly: { day: 'Funday', time: '1:00AM' } }, /Invalid day of the week \(Funday\)/],
    ['a bad date', { monthly: { date: 32, time: '1:00AM' } }, /Invalid date of the month \(32\)/],
    ['interval 0', { interval: { intervalMinutes: 0 } }, /Invalid intervalMinutes \(0\)/],
  ])(
    'a policy with %s: a Warning on the policy and on each schedule using it, and no snapshots',
    async (_n, item, message) => {
      policy('every', item);
      schedule({}, 'a');
      schedule({}, 'b');
      await controller().syncAll(signal);
      await clock.advance(40 * 24 * 60 * minute);
      await controller().syncAll(signal);
      expect(snapshots()).toEqual([]);
      const warnings = events.filter((e) => e.type === 'Warning' && e.reason === 'InvalidSchedulePolicy');
      expect(warnings.map((e) => `${e.kind}/${e.name}`).sort()).toEqual(
        [
          'SchedulePolicy/every',
          'VolumeSnapshotSchedule/a',
          'VolumeSnapshotSchedule/b',
          'SchedulePolicy/every',
          'VolumeSnapshotSchedule/a',
          'VolumeSnapshotSchedule/b',
        ]
          .sort()
          .slice(0, 6),
      );
      expect(warnings.every((e) => message.test(e.message))).toBe(true);
      expect(status('a')?.conditions?.[0]).toMatchObject({
        status: 'False',
        reason: 'InvalidSchedulePolicy',
      });
    },
  );

  it('says a state that lasts once per 10 minutes, not on every pass', async () => {
    schedule();
    const c = controller();
    for (let i = 0; i < 5; i++) {
      await c.syncAll(signal);
      await clock.advance(10_000);
    }
    expect(events.filter((e) => e.reason === 'SchedulePolicyNotFound')).toHaveLength(1);
    expect(snapshots()).toEqual([]);
  });

  it('a missing rule holds the run (Warning) until the rule exists', async () => {
    policy('every', { interval: { intervalMinutes: 1 } });
    schedule({ preExecRule: 'freeze' });
    const c = controller();
    await c.syncAll(signal);
    expect(snapshots()).toEqual([]);
    expect(events.find((e) => e.reason === 'RuleNotFound')?.message).toMatch(
      /preExecRule Rule prod\/freeze not found/,
    );
    client.seed(resources.rules, { metadata: { name: 'freeze', namespace: ns } });
    await clock.advance(5_000);
    await c.syncAll(signal);
    expect(names()).toEqual(['nightly-interval-0042-2026-01-01-000000']);
  });

  it('a failed snapshot is recorded with its message and a Warning, and does not hold the next run', async () => {
    policy('every', { interval: { intervalMinutes: 1 } });
    schedule();
    const c = controller();
    await c.syncAll(signal);
    const [first = ''] = names();
    await settle(first, 'Error', 'snapshot failed due to err: boom');
    await c.syncAll(signal);
    expect(status()?.items?.Interval?.[0]).toMatchObject({
      status: 'Error',
      message: 'snapshot failed due to err: boom',
    });
    expect(events.find((e) => e.reason === 'ScheduledSnapshotFailed')?.message).toContain('boom');
    expect(outcomes.failed).toBe(1);
    await clock.advance(minute);
    await c.syncAll(signal);
    expect(names()).toHaveLength(2);
    // Stork's cleanup: the Error snapshot's object goes after 90 s, its record stays, marked deleted.
    await clock.advance(minute);
    await c.syncAll(signal);
    expect(names()).not.toContain(first);
    expect(status()?.items?.Interval?.[0]).toMatchObject({ name: first, status: 'Error', deleted: true });
  });

  it('daily and monthly runs at their times of day, one run at a time', async () => {
    policy('every', { daily: { time: '1:30AM' }, monthly: { date: 31, time: '12:00AM' } });
    schedule();
    const c = controller();
    await c.syncAll(signal);
    expect(names()).toEqual([]); // created at 00:00 on the 1st: the first daily run is at 01:30
    await clock.advance(90 * minute);
    await c.syncAll(signal);
    expect(names()).toEqual(['nightly-daily-0042-2026-01-01-013000']);
    await settleAll();
    // To 31 January 00:00: the monthly run and the daily run of the 30th are due; one at a time.
    await clock.advance(Date.parse('2026-01-31T00:00:00Z') - clock.wallNow());
    await c.syncAll(signal);
    await settleAll();
    await c.syncAll(signal);
    expect(names()).toEqual([
      'nightly-daily-0042-2026-01-01-013000',
      'nightly-daily-0042-2026-01-30-013000',
      'nightly-monthly-0042-2026-01-31-000000',
    ]);
  });
});
