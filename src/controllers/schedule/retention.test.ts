import { describe, expect, it } from 'vitest';
import type { ScheduledVolumeSnapshotStatus } from '../../k8s/crds/volume-snapshot-schedule.js';
import { retentionPlan } from './retention.js';

const minute = 60_000;
const t0 = Date.parse('2026-01-01T00:00:00Z');
/** `R` Ready, `E` Error, `P` Pending, lower case: deleted; one a minute from t0, named s0, s1... */
const items = (states: string): ScheduledVolumeSnapshotStatus[] =>
  states.split('').map((c, i) => ({
    name: `s${i}`,
    creationTimestamp: new Date(t0 + i * minute).toISOString(),
    status: ({ R: 'Ready', E: 'Error', P: 'Pending' } as const)[c.toUpperCase() as 'R' | 'E' | 'P'],
    ...(c === c.toLowerCase() ? { deleted: true } : {}),
  }));
const now = (i: number): number => t0 + i * minute;
const none = (): boolean => false;

describe('retentionPlan', () => {
  it.each<
    [string, string, number, number, Partial<Record<'expire' | 'cleanUp' | 'forget' | 'inUse', string[]>>]
  >([
    ['keeps up to retain', 'RR', 2, 2, {}],
    ['expires the oldest beyond retain', 'RRR', 2, 3, { expire: ['s0'] }],
    ['expires all the oldest beyond retain', 'RRRRR', 2, 5, { expire: ['s0', 's1', 's2'] }],
    ['never touches a pending snapshot', 'PRRR', 2, 4, { expire: ['s1'] }],
    ['a newer pending one does not count toward retain', 'RRP', 2, 3, {}],
    ['errors older than the oldest kept go too', 'REERR', 2, 5, { expire: ['s0', 's1', 's2'] }],
    [
      'errors newer than the oldest kept lose their object after 90 s, not their record',
      'RRER',
      2,
      5,
      { expire: ['s0'], cleanUp: ['s2'] },
    ],
    ['a fresh error is left alone', 'RRE', 2, 2.5, {}],
    ['failures never cost a good snapshot', 'REEEEE', 2, 10, { cleanUp: ['s1', 's2', 's3', 's4', 's5'] }],
    [
      'records of deleted snapshots older than the oldest kept are forgotten',
      'eRRR',
      2,
      4,
      { expire: ['s1'], forget: ['s0'] },
    ],
    ['at most retain records of deleted snapshots are kept', 'Reeee', 2, 6, { forget: ['s1', 's2'] }],
    ['retain 1', 'RRR', 1, 3, { expire: ['s0', 's1'] }],
  ])('%s (%s, retain %i)', (_name, states, retain, at, expected) => {
    const plan = retentionPlan(items(states), retain, now(at), none);
    expect(plan).toEqual({ expire: [], cleanUp: [], forget: [], inUse: [], ...expected });
  });

  it('keeps a snapshot a restore is reading from', () => {
    const plan = retentionPlan(items('RRRR'), 2, now(4), (name) => name === 's0');
    expect(plan.expire).toEqual(['s1']);
    expect(plan.inUse).toEqual(['s0']);
  });

  it('orders by creation, whatever the order of the record', () => {
    const shuffled = items('RRR').reverse();
    expect(retentionPlan(shuffled, 2, now(3), none).expire).toEqual(['s0']);
  });
});
