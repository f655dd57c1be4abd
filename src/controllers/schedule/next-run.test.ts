import { describe, expect, it } from 'vitest';
import { dueRun, nextDue } from './next-run.js';
import type { SlotRule } from '../../k8s/crds/schedule-policy-validation.js';
import { TimeZone } from './time-zone.js';

const utc = new TimeZone('UTC');
const newYork = new TimeZone('America/New_York');
const t = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined =>
  ms === undefined ? undefined : new Date(ms).toISOString().replace('.000Z', 'Z');

const interval = (minutes: number): SlotRule => ({ kind: 'Interval', minutes });
const daily = (hour: number, minute = 0): SlotRule => ({ kind: 'Daily', hour, minute });
const weekly = (weekday: number, hour: number, minute = 0): SlotRule => ({
  kind: 'Weekly',
  weekday,
  hour,
  minute,
});
const monthly = (date: number, hour: number, minute = 0): SlotRule => ({
  kind: 'Monthly',
  date,
  hour,
  minute,
});

interface Case {
  name: string;
  rule: SlotRule;
  zone?: TimeZone;
  anchor: string;
  lastDue?: string;
  now: string;
  due: string | undefined;
  missed?: number;
  next?: string;
}

const cases: Case[] = [
  // Interval: slots every N minutes from the schedule's creation; the first one at creation.
  {
    name: 'interval: first run at creation',
    rule: interval(1),
    anchor: '2026-01-01T00:00:05Z',
    now: '2026-01-01T00:00:05Z',
    due: '2026-01-01T00:00:05Z',
    next: '2026-01-01T00:01:05Z',
  },
  {
    name: 'interval: nothing before creation',
    rule: interval(1),
    anchor: '2026-01-01T00:00:05Z',
    now: '2026-01-01T00:00:04Z',
    due: undefined,
  },
  {
    name: 'interval: the run taken is not due again',
    rule: interval(1),
    anchor: '2026-01-01T00:00:05Z',
    lastDue: '2026-01-01T00:00:05Z',
    now: '2026-01-01T00:01:04.999Z',
    due: undefined,
    next: '2026-01-01T00:01:05Z',
  },
  {
    name: 'interval: the next slot',
    rule: interval(1),
    anchor: '2026-01-01T00:00:05Z',
    lastDue: '2026-01-01T00:00:05Z',
    now: '2026-01-01T00:01:05Z',
    due: '2026-01-01T00:01:05Z',
    missed: 0,
  },
  {
    name: 'interval: slots stay on the grid when a run is late',
    rule: interval(15),
    anchor: '2026-01-01T00:00:00Z',
    lastDue: '2026-01-01T00:00:00Z',
    now: '2026-01-01T00:29:59Z',
    due: '2026-01-01T00:15:00Z',
    missed: 0,
    next: '2026-01-01T00:30:00Z',
  },
  {
    name: 'interval: catch-up after downtime takes the latest slot once',
    rule: interval(1),
    anchor: '2026-01-01T00:00:00Z',
    lastDue: '2026-01-01T00:02:00Z',
    now: '2026-01-01T03:02:30Z',
    due: '2026-01-01T03:02:00Z',
    missed: 179,
  },
  {
    name: 'interval: after catching up, nothing more is due',
    rule: interval(1),
    anchor: '2026-01-01T00:00:00Z',
    lastDue: '2026-01-01T03:02:00Z',
    now: '2026-01-01T03:02:59Z',
    due: undefined,
  },
  {
    name: 'interval: a longer interval',
    rule: interval(60 * 24 * 7),
    anchor: '2026-01-01T00:00:00Z',
    lastDue: '2026-01-01T00:00:00Z',
    now: '2026-01-08T00:00:00Z',
    due: '2026-01-08T00:00:00Z',
    missed: 0,
  },
  {
    name: 'interval: DST does not move minutes (New York)',
    rule: interval(60),
    zone: newYork,
    anchor: '2026-03-08T06:00:00Z',
    lastDue: '2026-03-08T06:00:00Z',
    now: '2026-03-08T07:00:00Z',
    due: '2026-03-08T07:00:00Z',
    missed: 0,
  },

  // Daily: at a time of day, from the creation on.
  {
    name: 'daily: not before the first time after creation',
    rule: daily(0),
    anchor: '2026-01-01T10:00:00Z',
    now: '2026-01-01T23:59:59Z',
    due: undefined,
    next: '2026-01-02T00:00:00Z',
  },
  {
    name: 'daily: the first time after creation',
    rule: daily(0),
    anchor: '2026-01-01T10:00:00Z',
    now: '2026-01-02T00:00:00Z',
    due: '2026-01-02T00:00:00Z',
    missed: 0,
    next: '2026-01-03T00:00:00Z',
  },
  {
    name: 'daily: created at the very slot',
    rule: daily(13, 30),
    anchor: '2026-01-01T13:30:00Z',
    now: '2026-01-01T13:30:10Z',
    due: '2026-01-01T13:30:00Z',
  },
  {
    name: 'daily: next day',
    rule: daily(13, 30),
    anchor: '2026-01-01T00:00:00Z',
    lastDue: '2026-01-01T13:30:00Z',
    now: '2026-01-02T13:30:00Z',
    due: '2026-01-02T13:30:00Z',
    missed: 0,
  },
  {
    name: 'daily: three days down, one run',
    rule: daily(13, 30),
    anchor: '2026-01-01T00:00:00Z',
    lastDue: '2026-01-01T13:30:00Z',
    now: '2026-01-04T20:00:00Z',
    due: '2026-01-04T13:30:00Z',
    missed: 2,
  },
  {
    name: 'daily: across the year end',
    rule: daily(23, 59),
    anchor: '2025-12-01T00:00:00Z',
    lastDue: '2025-12-31T23:59:00Z',
    now: '2026-01-01T23:59:00Z',
    due: '2026-01-01T23:59:00Z',
  },
  {
    name: 'daily: New York winter (UTC-5)',
    rule: daily(2, 30),
    zone: newYork,
    anchor: '2026-03-01T00:00:00Z',
    lastDue: '2026-03-06T07:30:00Z',
    now: '2026-03-07T07:30:00Z',
    due: '2026-03-07T07:30:00Z',
    next: '2026-03-08T07:30:00Z',
  },
  // 2026-03-08 02:00 EST jumps to 03:00 EDT: 02:30 does not exist and is 03:30 EDT (07:30Z) that day.
  {
    name: 'daily: a time skipped by spring-forward moves forward by the gap',
    rule: daily(2, 30),
    zone: newYork,
    anchor: '2026-03-01T00:00:00Z',
    lastDue: '2026-03-07T07:30:00Z',
    now: '2026-03-08T07:30:00Z',
    due: '2026-03-08T07:30:00Z',
    missed: 0,
    next: '2026-03-09T06:30:00Z',
  },
  {
    name: 'daily: after spring-forward, the same local time is an hour earlier in UTC',
    rule: daily(2, 30),
    zone: newYork,
    anchor: '2026-03-01T00:00:00Z',
    lastDue: '2026-03-08T07:30:00Z',
    now: '2026-03-09T06:30:00Z',
    due: '2026-03-09T06:30:00Z',
  },
  // 2026-11-01 02:00 EDT goes back to 01:00 EST: 01:30 happens twice; the run is at the first.
  {
    name: 'daily: a time repeated by fall-back runs once, at the first',
    rule: daily(1, 30),
    zone: newYork,
    anchor: '2026-10-01T00:00:00Z',
    lastDue: '2026-10-31T05:30:00Z',
    now: '2026-11-01T06:45:00Z',
    due: '2026-11-01T05:30:00Z',
    missed: 0,
    next: '2026-11-02T06:30:00Z',
  },

  // Weekly: a day of the week and a time.
  {
    name: 'weekly: the coming Sunday',
    rule: weekly(0, 0),
    anchor: '2026-01-01T00:00:00Z',
    now: '2026-01-03T12:00:00Z',
    due: undefined,
    next: '2026-01-04T00:00:00Z',
  },
  {
    name: 'weekly: on Sunday',
    rule: weekly(0, 0),
    anchor: '2026-01-01T00:00:00Z',
    now: '2026-01-04T00:00:01Z',
    due: '2026-01-04T00:00:00Z',
    next: '2026-01-11T00:00:00Z',
  },
  {
    name: 'weekly: the latest Sunday after a long outage',
    rule: weekly(0, 0),
    anchor: '2026-01-01T00:00:00Z',
    lastDue: '2026-01-04T00:00:00Z',
    now: '2026-01-28T00:00:00Z',
    due: '2026-01-25T00:00:00Z',
    missed: 2,
  },
  {
    name: 'weekly: Wednesday 6PM New York in summer (UTC-4)',
    rule: weekly(3, 18),
    zone: newYork,
    anchor: '2026-06-01T00:00:00Z',
    now: '2026-06-04T00:00:00Z',
    due: '2026-06-03T22:00:00Z',
  },

  // Monthly: a date and a time; a date the month lacks is its last day.
  {
    name: 'monthly: the 15th',
    rule: monthly(15, 0),
    anchor: '2026-01-01T00:00:00Z',
    now: '2026-01-15T00:00:00Z',
    due: '2026-01-15T00:00:00Z',
    next: '2026-02-15T00:00:00Z',
  },
  {
    name: 'monthly: 31 in a 30-day month is the 30th',
    rule: monthly(31, 12),
    anchor: '2026-04-01T00:00:00Z',
    now: '2026-04-30T12:00:00Z',
    due: '2026-04-30T12:00:00Z',
    next: '2026-05-31T12:00:00Z',
  },
  {
    name: 'monthly: 31 in February is the 28th',
    rule: monthly(31, 12),
    anchor: '2026-02-01T00:00:00Z',
    now: '2026-02-28T12:00:00Z',
    due: '2026-02-28T12:00:00Z',
    next: '2026-03-31T12:00:00Z',
  },
  {
    name: 'monthly: 31 in February of a leap year is the 29th',
    rule: monthly(31, 12),
    anchor: '2028-02-01T00:00:00Z',
    now: '2028-02-29T12:00:00Z',
    due: '2028-02-29T12:00:00Z',
    next: '2028-03-31T12:00:00Z',
  },
  {
    name: 'monthly: 29 in February of a leap year is the 29th',
    rule: monthly(29, 0),
    anchor: '2028-02-01T00:00:00Z',
    now: '2028-02-28T23:59:59Z',
    due: undefined,
    next: '2028-02-29T00:00:00Z',
  },
  {
    name: 'monthly: 29 in February of a common year is the 28th, March keeps its 29th',
    rule: monthly(29, 0),
    anchor: '2026-02-01T00:00:00Z',
    lastDue: '2026-02-28T00:00:00Z',
    now: '2026-03-29T00:00:00Z',
    due: '2026-03-29T00:00:00Z',
    missed: 0,
  },
  {
    name: 'monthly: across the year end',
    rule: monthly(1, 0),
    anchor: '2026-12-02T00:00:00Z',
    now: '2027-01-01T00:00:00Z',
    due: '2027-01-01T00:00:00Z',
    next: '2027-02-01T00:00:00Z',
  },
  {
    name: 'monthly: a year down, one run',
    rule: monthly(1, 0),
    anchor: '2026-01-01T00:00:00Z',
    lastDue: '2026-01-01T00:00:00Z',
    now: '2027-01-10T00:00:00Z',
    due: '2027-01-01T00:00:00Z',
    missed: 11,
  },
];

describe('dueRun and nextDue', () => {
  it.each(cases)('$name', (c) => {
    const zone = c.zone ?? utc;
    const times = { anchor: t(c.anchor), lastDue: c.lastDue ? t(c.lastDue) : undefined, now: t(c.now) };
    const run = dueRun(c.rule, zone, times);
    expect(iso(run?.due)).toBe(c.due);
    if (c.missed !== undefined) expect(run?.missed).toBe(c.missed);
    if (c.next !== undefined)
      expect(iso(nextDue(c.rule, zone, { ...times, lastDue: run?.due ?? times.lastDue }))).toBe(c.next);
  });

  it('a run is never due twice and never skipped as the clock moves minute by minute', () => {
    const rule = interval(7);
    const anchor = t('2026-01-01T00:00:30Z');
    let lastDue: number | undefined;
    const taken: number[] = [];
    for (let now = anchor; now < anchor + 70 * 60_000; now += 60_000) {
      const run = dueRun(rule, utc, { anchor, lastDue, now });
      if (run) {
        expect(run.missed).toBe(0);
        taken.push(run.due);
        lastDue = run.due;
      }
    }
    expect(taken).toHaveLength(10);
    expect(new Set(taken).size).toBe(10);
    expect(taken.every((d, i) => d === anchor + i * 7 * 60_000)).toBe(true);
  });

  it('daily runs in New York over a whole year are one per local day at the local time', () => {
    const rule = daily(2, 30);
    const anchor = t('2026-01-01T00:00:00Z');
    let lastDue: number | undefined;
    let count = 0;
    for (let now = anchor; now < t('2027-01-01T00:00:00Z'); now += 15 * 60_000) {
      const run = dueRun(rule, newYork, { anchor, lastDue, now });
      if (!run) continue;
      expect(run.missed).toBe(0);
      const local = newYork.localTime(run.due);
      // 02:30 every day but the spring-forward day, when it is 03:30.
      expect(`${local.hour}:${local.minute}`).toMatch(/^(2|3):30$/);
      lastDue = run.due;
      count++;
    }
    expect(count).toBe(365);
  });
});

describe('TimeZone', () => {
  it('refuses a zone the platform does not know', () => {
    expect(() => new TimeZone('Mars/Olympus_Mons')).toThrow(/unknown time zone "Mars\/Olympus_Mons"/);
  });
});
