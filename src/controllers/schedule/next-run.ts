// When a schedule's runs are due: pure functions of the policy, the time zone, the schedule's creation
// (the anchor), the last run taken and now. Nothing here reads a clock.
import type { SlotRule } from '../../k8s/crds/schedule-policy-validation.js';
import { addDays, daysInMonth, weekdayOf, type LocalTime, type TimeZone } from './time-zone.js';

/** The slot of a daily/weekly/monthly rule on a local date: that date at the rule's time of day. */
function at(zone: TimeZone, date: LocalTime, rule: { hour: number; minute: number }): number {
  return zone.instant({ ...date, hour: rule.hour, minute: rule.minute });
}

/**
 * A monthly rule's slot in a month. A date the month does not have (31 in April, 29-31 in February) is
 * the month's last day, so every month has exactly one run. (Stork rolls such dates over into the next
 * month, which gives March two runs and February none; see docs/schedules.md.)
 */
function monthlySlot(zone: TimeZone, year: number, month: number, rule: SlotRule & { kind: 'Monthly' }) {
  const day = Math.min(rule.date, daysInMonth(year, month));
  return at(zone, { year, month, day, hour: 0, minute: 0 }, rule);
}

function shiftMonth(year: number, month: number, by: number): { year: number; month: number } {
  const index = year * 12 + (month - 1) + by;
  return { year: Math.floor(index / 12), month: (index % 12) + 1 };
}

/** The latest slot at or before `time`, ignoring the anchor. Interval slots count from `anchor`. */
function slotAtOrBefore(rule: SlotRule, zone: TimeZone, anchor: number, time: number): number {
  const local = zone.localTime(time);
  switch (rule.kind) {
    case 'Interval': {
      const period = rule.minutes * 60_000;
      return anchor + Math.floor((time - anchor) / period) * period;
    }
    case 'Daily': {
      // Two steps back at most: a slot moved by a DST gap can fall after `time` on the same date.
      for (let back = 0; ; back++) {
        const slot = at(zone, addDays(local, -back), rule);
        if (slot <= time) return slot;
      }
    }
    case 'Weekly': {
      const back = (weekdayOf(local) - rule.weekday + 7) % 7;
      for (let weeks = 0; ; weeks++) {
        const slot = at(zone, addDays(local, -back - 7 * weeks), rule);
        if (slot <= time) return slot;
      }
    }
    case 'Monthly': {
      for (let months = 0; ; months++) {
        const { year, month } = shiftMonth(local.year, local.month, -months);
        const slot = monthlySlot(zone, year, month, rule);
        if (slot <= time) return slot;
      }
    }
  }
}

/** The earliest slot after `time` that is not before `anchor`. */
export function nextSlot(rule: SlotRule, zone: TimeZone, anchor: number, time: number): number {
  if (rule.kind === 'Interval') {
    const period = rule.minutes * 60_000;
    if (time < anchor) return anchor;
    return anchor + (Math.floor((time - anchor) / period) + 1) * period;
  }
  // Step forward from the slot at or before `time` by looking just past each candidate.
  const start = Math.max(time, anchor - 1);
  const local = zone.localTime(start);
  const candidates: number[] = [];
  if (rule.kind === 'Daily') {
    for (let d = 0; d <= 2; d++) candidates.push(at(zone, addDays(local, d), rule));
  } else if (rule.kind === 'Weekly') {
    const ahead = (rule.weekday - weekdayOf(local) + 7) % 7;
    for (let w = 0; w <= 1; w++) candidates.push(at(zone, addDays(local, ahead + 7 * w), rule));
  } else {
    for (let m = 0; m <= 1; m++) {
      const { year, month } = shiftMonth(local.year, local.month, m);
      candidates.push(monthlySlot(zone, year, month, rule));
    }
  }
  const next = candidates.filter((c) => c > start).sort((a, b) => a - b)[0];
  if (next === undefined) throw new Error(`no ${rule.kind} slot after ${new Date(start).toISOString()}`);
  return next;
}

/** What is due now for one policy type. */
export interface DueRun {
  /** The slot being taken: the latest one at or before now. */
  readonly due: number;
  /** Slots after the last run and before `due` that were not taken (stork down, suspended, busy). */
  readonly missed: number;
}

/** Counting missed slots stops here: the number is for a message, and an interval of 1 minute over a
 * year of downtime is half a million slots. */
const missedCountLimit = 10_000;

/**
 * The run due now, if any: the latest slot at or before `now`, not before `anchor` (the schedule's
 * creation) and after `lastDue` (the slot of the last run taken). However many slots passed since,
 * only the latest is due: a run missed while stork was down is taken once, not once per missed slot.
 */
export function dueRun(
  rule: SlotRule,
  zone: TimeZone,
  times: { readonly anchor: number; readonly lastDue?: number | undefined; readonly now: number },
): DueRun | undefined {
  const { anchor, lastDue, now } = times;
  if (now < anchor) return undefined;
  const due = slotAtOrBefore(rule, zone, anchor, now);
  if (due < anchor) return undefined;
  if (lastDue !== undefined && due <= lastDue) return undefined;
  const from = lastDue ?? anchor - 1;
  let missed = 0;
  if (rule.kind === 'Interval') {
    const period = rule.minutes * 60_000;
    const firstAfter = nextSlot(rule, zone, anchor, from);
    missed = Math.max(0, Math.round((due - firstAfter) / period));
  } else {
    for (
      let slot = nextSlot(rule, zone, anchor, from);
      slot < due;
      slot = nextSlot(rule, zone, anchor, slot)
    ) {
      if (++missed >= missedCountLimit) break;
    }
  }
  return { due, missed };
}

/** When the next run after now falls, for sleeping until then. */
export function nextDue(
  rule: SlotRule,
  zone: TimeZone,
  times: { readonly anchor: number; readonly lastDue?: number | undefined; readonly now: number },
): number {
  return nextSlot(rule, zone, times.anchor, Math.max(times.now, times.lastDue ?? -Infinity));
}
