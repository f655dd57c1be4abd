// A SchedulePolicy as stork and storkctl use it: validated (messages name the bad value, in Stork's words
// where Stork has them) and reduced to the rules of its runs. Beside the type, as Stork keeps Validate()
// on its API types, so the controller and storkctl check alike.
import type { SchedulePolicyItem } from './schedule-policy.js';
import type { SchedulePolicyType } from './volume-snapshot-schedule.js';

/** When runs of one policy type fall. Times of day are in the controller's time zone. */
export type SlotRule =
  | { readonly kind: 'Interval'; readonly minutes: number }
  | { readonly kind: 'Daily'; readonly hour: number; readonly minute: number }
  | { readonly kind: 'Weekly'; readonly weekday: number; readonly hour: number; readonly minute: number }
  | { readonly kind: 'Monthly'; readonly date: number; readonly hour: number; readonly minute: number };

/** One policy type of a policy: when it runs, how many results it keeps, what it passes on. */
export interface PolicyRun {
  readonly type: SchedulePolicyType;
  readonly rule: SlotRule;
  readonly retain: number;
  readonly options: Readonly<Record<string, string>>;
}

/** Stork's defaults for `retain` when it is 0 or unset. */
export const defaultRetain: Readonly<Record<SchedulePolicyType, number>> = {
  Interval: 10,
  Daily: 30,
  Weekly: 7,
  Monthly: 12,
};

/** The day names Stork accepts (its `Days` map), exactly: no other spellings or cases. */
export const weekdays: Readonly<Record<string, number>> = Object.fromEntries(
  (
    [
      [0, ['Sunday', 'Sun', 'sunday', 'sun']],
      [1, ['Monday', 'Mon', 'monday', 'mon']],
      [2, ['Tuesday', 'Tue', 'tuesday', 'tue']],
      [3, ['Wednesday', 'Wed', 'wednesday', 'wed']],
      [4, ['Thursday', 'Thu', 'Thur', 'Thurs', 'thursday', 'thu', 'thur', 'thurs']],
      [5, ['Friday', 'Fri', 'friday', 'fri']],
      [6, ['Saturday', 'Sat', 'saturday', 'sat']],
    ] as const
  ).flatMap(([day, names]) => names.map((name) => [name, day])),
);

/** A policy that cannot be used; the message is for users. */
export class PolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PolicyError';
  }
}

/**
 * Go's `time.Kitchen` as Stork parses it: `3:04PM` or `3:04pm` (hour 0-12 in one or two digits, minutes
 * in two). Returns the 24-hour time, or undefined when the text is not such a time.
 */
export function parseKitchenTime(text: string): { hour: number; minute: number } | undefined {
  const match = /^(\d{1,2}):(\d{2})(AM|PM|am|pm)$/.exec(text);
  if (!match) return undefined;
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  if (hour > 12 || minute > 59) return undefined;
  const pm = match[3] === 'PM' || match[3] === 'pm';
  return { hour: (hour % 12) + (pm ? 12 : 0), minute };
}

function timeOf(type: SchedulePolicyType, text: unknown): { hour: number; minute: number } {
  const parsed = typeof text === 'string' ? parseKitchenTime(text) : undefined;
  if (!parsed) {
    throw new PolicyError(
      `Invalid time (${shown(text)}) in ${type} policy: expected a time like 12:04PM or 12:04pm`,
    );
  }
  return parsed;
}

function retainOf(type: SchedulePolicyType, value: unknown): number {
  if (value === undefined || value === null || value === 0) return defaultRetain[type];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new PolicyError(`Invalid retain (${shown(value)}) in ${type} policy: expected a whole number >= 0`);
  }
  return value;
}

function optionsOf(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** Values in messages are shown bounded: a policy is user input. */
function shown(value: unknown): string {
  const text = typeof value === 'string' ? value : value === undefined ? 'unset' : JSON.stringify(value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/**
 * The runs a policy defines, in Stork's order of policy types. Throws PolicyError naming the first bad
 * value; a policy with no policy type at all is an error too (it would never run).
 */
export function parsePolicy(policy: SchedulePolicyItem | undefined): PolicyRun[] {
  const runs: PolicyRun[] = [];
  const { interval, daily, weekly, monthly } = policy ?? {};
  if (interval) {
    const minutes = interval.intervalMinutes;
    if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1) {
      throw new PolicyError(`Invalid intervalMinutes (${shown(minutes)}) in Interval policy`);
    }
    runs.push({
      type: 'Interval',
      rule: { kind: 'Interval', minutes },
      retain: retainOf('Interval', interval.retain),
      options: optionsOf(interval.options),
    });
  }
  if (daily) {
    if (daily.forceFullSnapshotDay && weekdays[daily.forceFullSnapshotDay] === undefined) {
      throw new PolicyError(
        `Invalid day of the week (${shown(daily.forceFullSnapshotDay)}) in Daily policy forceFullSnapshotDay`,
      );
    }
    runs.push({
      type: 'Daily',
      rule: { kind: 'Daily', ...timeOf('Daily', daily.time) },
      retain: retainOf('Daily', daily.retain),
      options: optionsOf(daily.options),
    });
  }
  if (weekly) {
    const time = timeOf('Weekly', weekly.time);
    const weekday = typeof weekly.day === 'string' ? weekdays[weekly.day] : undefined;
    if (weekday === undefined) {
      throw new PolicyError(`Invalid day of the week (${shown(weekly.day)}) in Weekly policy`);
    }
    runs.push({
      type: 'Weekly',
      rule: { kind: 'Weekly', weekday, ...time },
      retain: retainOf('Weekly', weekly.retain),
      options: optionsOf(weekly.options),
    });
  }
  if (monthly) {
    const time = timeOf('Monthly', monthly.time);
    const date = monthly.date;
    if (typeof date !== 'number' || !Number.isInteger(date) || date < 1 || date > 31) {
      throw new PolicyError(`Invalid date of the month (${shown(date)}) in Monthly policy`);
    }
    runs.push({
      type: 'Monthly',
      rule: { kind: 'Monthly', date, ...time },
      retain: retainOf('Monthly', monthly.retain),
      options: optionsOf(monthly.options),
    });
  }
  if (runs.length === 0) {
    throw new PolicyError('the policy defines none of interval, daily, weekly or monthly');
  }
  return runs;
}
