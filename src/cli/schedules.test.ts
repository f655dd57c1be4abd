import { describe, expect, it } from 'vitest';
import type { SchedulePolicy } from '../k8s/crds/schedule-policy.js';
import { runStorkctl } from './program.js';
import { policyFromFlags, schedulePolicyRow, type SchedulePolicyFlags } from './schedule-policies.js';
import { snapshotScheduleRow } from './snapshot-schedules.js';

const defaults: SchedulePolicyFlags = {
  policyType: 'Interval',
  intervalMinutes: '30',
  time: '12:00AM',
  dayOfWeek: 'Sunday',
  dateOfMonth: '1',
  given: new Set(),
};

describe('create schedulepolicy flags (Stork’s rules)', () => {
  it.each<[string, Partial<SchedulePolicyFlags>, unknown]>([
    ['interval by default, 30 minutes, retain 10', {}, { interval: { intervalMinutes: 30, retain: 10 } }],
    [
      'daily',
      { policyType: 'daily', time: '10:15PM', given: new Set(['time']) },
      { daily: { time: '10:15PM', retain: 30 } },
    ],
    [
      'weekly',
      { policyType: 'Weekly', dayOfWeek: 'Friday', retain: '2' },
      { weekly: { day: 'friday', time: '12:00AM', retain: 2 } },
    ],
    [
      'monthly',
      { policyType: 'monthly', dateOfMonth: '31' },
      { monthly: { date: 31, time: '12:00AM', retain: 12 } },
    ],
  ])('%s', (_name, flags, expected) => {
    expect(policyFromFlags({ ...defaults, ...flags })).toEqual(expected);
  });

  it.each<[Partial<SchedulePolicyFlags>, RegExp]>([
    [{ policyType: 'hourly' }, /Valid schedule types are Interval, Daily, Weekly and Monthly/],
    [{ retain: '0' }, /valid value for retain/],
    [{ intervalMinutes: '0' }, /Invalid intervalMinutes \(0\)/],
    [
      { given: new Set(['time']) },
      /for an Interval SchedulePolicy you can only provide values for --interval-minutes and --retain/,
    ],
    [{ policyType: 'weekly', dayOfWeek: 'Funday' }, /Invalid day of the week \(funday\)/],
    [{ policyType: 'monthly', dateOfMonth: '32' }, /Invalid date of the month \(32\)/],
    [{ policyType: 'daily', time: '25:00' }, /Invalid time \(25:00\)/],
  ])('%j is refused', (flags, message) => {
    expect(() => policyFromFlags({ ...defaults, ...flags })).toThrow(message);
  });
});

describe('rows', () => {
  it('shows each policy type, N/A when absent, Invalid when it does not validate', () => {
    const policy: SchedulePolicy = {
      metadata: { name: 'p' },
      policy: {
        interval: { intervalMinutes: 0 },
        weekly: { day: 'Sun', time: '1:00AM' },
        monthly: { date: 5, time: '2:00PM' },
      },
    };
    expect(schedulePolicyRow(policy)).toEqual(['p', 'Invalid', 'N/A', 'Sun@1:00AM', '5@2:00PM']);
  });

  it('a schedule: Delete when no reclaim policy is set, the latest Ready finish as the last success', () => {
    expect(
      snapshotScheduleRow({
        metadata: { name: 's' },
        spec: { schedulePolicyName: 'p', template: { spec: { persistentVolumeClaimName: 'data' } } },
        status: {
          items: {
            Interval: [
              { name: 'a', status: 'Ready', finishTimestamp: '2026-01-02T03:04:05Z' },
              { name: 'b', status: 'Error', finishTimestamp: '2026-01-02T04:00:00Z' },
            ],
            Daily: [{ name: 'c', status: 'Ready', finishTimestamp: '2026-01-02T03:30:00Z' }],
          },
        },
      }),
    ).toEqual(['s', 'data', 'p', '', '', 'Delete', 'false', '02 Jan 26 03:30 UTC']);
  });
});

describe('storkctl schedule commands, before any request', () => {
  const run = async (...argv: string[]) => {
    let err = '';
    const code = await runStorkctl(['--kubeconfig', '/nonexistent', ...argv], {
      out: () => undefined,
      err: (t) => (err += t),
    });
    return { code, err };
  };
  it.each<[string[], string]>([
    [
      ['create', 'schedulepolicy', 'p', '-t', 'Daily', '--interval-minutes', '5'],
      'Error: for a Daily SchedulePolicy you can only provide values for --time, --retain and --force-full-snapshot-day flags\n',
    ],
    [['create', 'sp', 'a', 'b'], 'Error: exactly one name needs to be provided for schedule policy name\n'],
    [['create', 'volumesnapshotschedules', 'x', '-p', 'data'], 'Error: need to provide schedulePolicyName\n'],
    [
      ['create', 'snapshotschedule', 'x', '-s', 'p', '--reclaimPolicy', 'Keep'],
      'Error: invalid reclaimPolicy "Keep": Retain or Delete\n',
    ],
    [
      ['delete', 'schedulepolicy'],
      'Error: at least one argument needs to be provided for schedule policy name\n',
    ],
    [
      ['suspend', 'volumesnapshotschedules'],
      'Error: at least one argument needs to be provided for volumesnapshot schedule name\n',
    ],
  ])('%j', async (argv, err) => {
    expect(await run(...argv)).toEqual({ code: 1, err });
  });
});
