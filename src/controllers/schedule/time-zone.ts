// Wall-clock times in an IANA time zone, with the platform's Intl data (no dependency): what a policy's
// "12:00AM on Sunday" means as an instant, across daylight-saving changes.

/** A local date and time of day (month 1-12). */
export interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

const dayMs = 86_400_000;

export class TimeZone {
  private readonly format: Intl.DateTimeFormat;

  /** Throws RangeError naming the zone when the platform does not know it. */
  constructor(readonly name: string) {
    try {
      this.format = new Intl.DateTimeFormat('en-US', {
        timeZone: name,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
    } catch {
      throw new RangeError(
        `unknown time zone "${name}" (expected an IANA name such as UTC or Europe/Berlin)`,
      );
    }
  }

  /** The local date and time at an instant (seconds dropped). */
  localTime(instant: number): LocalTime {
    const parts: Record<string, number> = {};
    for (const part of this.format.formatToParts(new Date(instant))) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    return {
      year: parts.year ?? 0,
      month: parts.month ?? 0,
      day: parts.day ?? 0,
      hour: parts.hour ?? 0,
      minute: parts.minute ?? 0,
    };
  }

  /** Milliseconds to add to UTC to get local time, at an instant. */
  private offset(instant: number): number {
    const t = instant - (((instant % 60_000) + 60_000) % 60_000);
    return asUtc(this.localTime(t)) - t;
  }

  /**
   * The instant of a local time. A time that happens twice (clocks go back) is its first occurrence; a
   * time that does not happen (clocks go forward) is moved forward by the gap, so 02:30 on the night of
   * a one-hour spring-forward is 03:30 new time. Both are the choices cron implementations make.
   */
  instant(local: LocalTime): number {
    const wall = asUtc(local);
    // Offsets a day either side are before and after any transition near this time.
    const before = wall - this.offset(wall - dayMs);
    const after = wall - this.offset(wall + dayMs);
    const exact = [before, after].filter((t) => asUtc(this.localTime(t)) === wall).sort((a, b) => a - b);
    return exact[0] ?? before;
  }
}

/** A local time read as if it were UTC: a plain number to do calendar arithmetic on. */
function asUtc(local: LocalTime): number {
  return Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute);
}

/** The calendar date `days` after a local date (any sign), keeping the time of day. */
export function addDays(local: LocalTime, days: number): LocalTime {
  const date = new Date(Date.UTC(local.year, local.month - 1, local.day + days));
  return { ...local, year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** 0 (Sunday) to 6 (Saturday). */
export function weekdayOf(local: LocalTime): number {
  return new Date(Date.UTC(local.year, local.month - 1, local.day)).getUTCDay();
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
