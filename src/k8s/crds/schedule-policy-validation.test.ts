import { describe, expect, it } from 'vitest';
import type { SchedulePolicyItem } from './schedule-policy.js';
import { parseKitchenTime, parsePolicy } from './schedule-policy-validation.js';

describe('parseKitchenTime (Go time.Kitchen, as Stork parses it)', () => {
  it.each([
    ['12:00AM', { hour: 0, minute: 0 }],
    ['12:00am', { hour: 0, minute: 0 }],
    ['12:30PM', { hour: 12, minute: 30 }],
    ['1:05PM', { hour: 13, minute: 5 }],
    ['01:05pm', { hour: 13, minute: 5 }],
    ['11:59PM', { hour: 23, minute: 59 }],
    ['0:15AM', { hour: 0, minute: 15 }],
  ])('%s', (text, expected) => expect(parseKitchenTime(text)).toEqual(expected));

  it.each([
    '13:00PM',
    '12:60AM',
    '12:00',
    '12:0AM',
    '12:00Am',
    '12:00 AM',
    ' 1:00PM',
    '',
    '1:00PMx',
    '100:00AM',
  ])('rejects %j', (text) => expect(parseKitchenTime(text)).toBeUndefined());
});

describe('parsePolicy', () => {
  it('defaults retain per type as Stork (10, 30, 7, 12) and keeps options', () => {
    const runs = parsePolicy({
      interval: { intervalMinutes: 15, options: { 'portworx/snapshot-type': 'local' } },
      daily: { time: '10:00PM', retain: 0 },
      weekly: { day: 'Thur', time: '1:00AM' },
      monthly: { date: 31, time: '12:00AM', retain: 3 },
    });
    expect(runs.map((r) => [r.type, r.retain])).toEqual([
      ['Interval', 10],
      ['Daily', 30],
      ['Weekly', 7],
      ['Monthly', 3],
    ]);
    expect(runs[0]?.options).toEqual({ 'portworx/snapshot-type': 'local' });
    expect(runs[1]?.rule).toEqual({ kind: 'Daily', hour: 22, minute: 0 });
    expect(runs[2]?.rule).toEqual({ kind: 'Weekly', weekday: 4, hour: 1, minute: 0 });
    expect(runs[3]?.rule).toEqual({ kind: 'Monthly', date: 31, hour: 0, minute: 0 });
  });

  it('takes null policy types as absent (Go serialises nil pointers as null)', () => {
    expect(
      parsePolicy({ interval: { intervalMinutes: 1 }, daily: null, weekly: null, monthly: null }),
    ).toHaveLength(1);
  });

  it.each<[string, SchedulePolicyItem | undefined, RegExp]>([
    ['interval 0', { interval: { intervalMinutes: 0 } }, /Invalid intervalMinutes \(0\) in Interval policy/],
    ['interval unset', { interval: {} }, /Invalid intervalMinutes \(unset\)/],
    ['interval fraction', { interval: { intervalMinutes: 1.5 } }, /Invalid intervalMinutes \(1.5\)/],
    ['daily time', { daily: { time: '25:00' } }, /Invalid time \(25:00\) in Daily policy/],
    ['daily time unset', { daily: {} }, /Invalid time \(unset\) in Daily policy/],
    [
      'daily force-full day',
      { daily: { time: '1:00AM', forceFullSnapshotDay: 'Someday' } },
      /Invalid day of the week \(Someday\)/,
    ],
    [
      'weekly day',
      { weekly: { day: 'Funday', time: '1:00AM' } },
      /Invalid day of the week \(Funday\) in Weekly policy/,
    ],
    ['weekly day case', { weekly: { day: 'SUNDAY', time: '1:00AM' } }, /Invalid day of the week \(SUNDAY\)/],
    ['weekly time', { weekly: { day: 'Sun', time: 'noon' } }, /Invalid time \(noon\) in Weekly policy/],
    [
      'monthly date 0',
      { monthly: { date: 0, time: '1:00AM' } },
      /Invalid date of the month \(0\) in Monthly policy/,
    ],
    ['monthly date 32', { monthly: { date: 32, time: '1:00AM' } }, /Invalid date of the month \(32\)/],
    ['monthly time', { monthly: { date: 1, time: '1:00' } }, /Invalid time \(1:00\) in Monthly policy/],
    [
      'negative retain',
      { interval: { intervalMinutes: 5, retain: -1 } },
      /Invalid retain \(-1\) in Interval policy/,
    ],
    ['nothing', {}, /defines none of interval, daily, weekly or monthly/],
    ['no policy', undefined, /defines none/],
  ])('%s is an error naming the value', (_name, policy, message) => {
    expect(() => parsePolicy(policy)).toThrow(message);
  });

  it('bounds a long bad value in the message', () => {
    expect(() => parsePolicy({ daily: { time: 'x'.repeat(10_000) } })).toThrow(/x{64}…\)/);
  });
});
