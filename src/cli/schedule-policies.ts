// storkctl create|get|delete schedulepolicy: Stork's flags, messages and columns.
import {
  schedulePolicyApiVersion,
  type SchedulePolicy,
  type SchedulePolicyItem,
} from '../k8s/crds/schedule-policy.js';
import { defaultRetain, parsePolicy, PolicyError } from '../k8s/crds/schedule-policy-validation.js';
import type { VolumeSnapshotSchedule } from '../k8s/crds/volume-snapshot-schedule.js';
import { isNotFound } from '../k8s/errors.js';
import { resources } from '../k8s/paths.js';
import type { CommandContext } from './context.js';
import { asList, CliError, formatDocument, formatTable } from './output.js';

export const schedulePolicyColumns = ['NAME', 'INTERVAL-MINUTES', 'DAILY', 'WEEKLY', 'MONTHLY'] as const;

/** The flags of `create schedulepolicy`; `given` names the ones on the command line. */
export interface SchedulePolicyFlags {
  readonly policyType: string;
  readonly intervalMinutes: string;
  readonly retain?: string | undefined;
  readonly time: string;
  readonly forceFullSnapshotDay?: string | undefined;
  readonly dayOfWeek: string;
  readonly dateOfMonth: string;
  readonly given: ReadonlySet<string>;
}

const int = (flag: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new CliError(`invalid argument "${value}" for "--${flag}" flag`);
  return n;
};

/** The policy `create schedulepolicy` makes from its flags (Stork's rules), or a CliError saying why not. */
export function policyFromFlags(flags: SchedulePolicyFlags): SchedulePolicyItem {
  const only = (allowed: string[], message: string): void => {
    const others = ['interval-minutes', 'time', 'day-of-week', 'date-of-month', 'force-full-snapshot-day'];
    if (others.some((f) => !allowed.includes(f) && flags.given.has(f))) throw new CliError(message);
  };
  let retain: number | undefined;
  if (flags.retain !== undefined) {
    retain = int('retain', flags.retain);
    if (retain <= 0) {
      throw new CliError('need to provide a valid value for retain. It should be a positive integer');
    }
  }
  let item: SchedulePolicyItem;
  switch (flags.policyType.toLowerCase()) {
    case 'interval':
      only(
        ['interval-minutes'],
        'for an Interval SchedulePolicy you can only provide values for --interval-minutes and --retain flags',
      );
      item = {
        interval: {
          intervalMinutes: int('interval-minutes', flags.intervalMinutes),
          retain: retain ?? defaultRetain.Interval,
        },
      };
      break;
    case 'daily':
      only(
        ['time', 'force-full-snapshot-day'],
        'for a Daily SchedulePolicy you can only provide values for --time, --retain and --force-full-snapshot-day flags',
      );
      item = {
        daily: {
          time: flags.time,
          retain: retain ?? defaultRetain.Daily,
          ...(flags.forceFullSnapshotDay
            ? { forceFullSnapshotDay: flags.forceFullSnapshotDay.toLowerCase() }
            : {}),
        },
      };
      break;
    case 'weekly':
      only(
        ['time', 'day-of-week'],
        'for a Weekly SchedulePolicy you can only provide values for --time, --day-of-week and --retain flags',
      );
      item = {
        weekly: {
          day: flags.dayOfWeek.toLowerCase(),
          time: flags.time,
          retain: retain ?? defaultRetain.Weekly,
        },
      };
      break;
    case 'monthly':
      only(
        ['time', 'date-of-month'],
        'for a Monthly SchedulePolicy you can only provide values for --time, --date-of-month and --retain flags',
      );
      item = {
        monthly: {
          date: int('date-of-month', flags.dateOfMonth),
          time: flags.time,
          retain: retain ?? defaultRetain.Monthly,
        },
      };
      break;
    default:
      throw new CliError(
        'need to provide a valid schedule policy type. Valid schedule types are Interval, Daily, Weekly and Monthly',
      );
  }
  try {
    parsePolicy(item);
  } catch (error) {
    if (error instanceof PolicyError) throw new CliError(error.message);
    throw error;
  }
  return item;
}

export async function createSchedulePolicy(
  ctx: CommandContext,
  names: readonly string[],
  flags: SchedulePolicyFlags,
) {
  if (names.length !== 1)
    throw new CliError('exactly one name needs to be provided for schedule policy name');
  const [name = ''] = names;
  const body: SchedulePolicy = {
    apiVersion: schedulePolicyApiVersion,
    kind: 'SchedulePolicy',
    metadata: { name },
    policy: policyFromFlags(flags),
  };
  await ctx.api.create(resources.schedulePolicies, body);
  ctx.io.out(`Schedule policy ${name} created successfully\n`);
}

export async function getSchedulePolicies(ctx: CommandContext, names: readonly string[]) {
  let policies: SchedulePolicy[];
  if (names.length > 0) {
    policies = [];
    for (const name of names) {
      try {
        policies.push(await ctx.api.get<SchedulePolicy>(resources.schedulePolicies, { name }));
      } catch (error) {
        if (isNotFound(error))
          throw new CliError(`schedulepolicies.stork.libopenstorage.org "${name}" not found`);
        throw error;
      }
    }
  } else {
    policies = (await ctx.api.list<SchedulePolicy>(resources.schedulePolicies)).items;
  }
  const format = ctx.options.output;
  if (format !== 'table') {
    ctx.io.out(formatDocument(names.length === 1 ? policies[0] : asList(policies), format));
    return;
  }
  if (policies.length === 0) {
    ctx.io.out('No resources found.\n');
    return;
  }
  ctx.io.out(formatTable(schedulePolicyColumns, policies.map(schedulePolicyRow)));
}

/** Stork's row: each policy type's setting, `N/A` when absent, `Invalid` when it does not validate. */
export function schedulePolicyRow(policy: SchedulePolicy): string[] {
  const { interval, daily, weekly, monthly } = policy.policy ?? {};
  const cell = (present: unknown, item: SchedulePolicyItem, text: () => string): string => {
    if (!present) return 'N/A';
    try {
      parsePolicy(item);
      return text();
    } catch {
      return 'Invalid';
    }
  };
  return [
    policy.metadata.name ?? '',
    cell(interval, { interval }, () => String(interval?.intervalMinutes)),
    cell(daily, { daily }, () => daily?.time ?? ''),
    cell(weekly, { weekly }, () => `${weekly?.day ?? ''}@${weekly?.time ?? ''}`),
    cell(monthly, { monthly }, () => `${String(monthly?.date)}@${monthly?.time ?? ''}`),
  ];
}

/** Deletes policies no VolumeSnapshotSchedule uses (Stork refuses to delete a policy in use). */
export async function deleteSchedulePolicies(ctx: CommandContext, names: readonly string[]) {
  if (names.length === 0) {
    throw new CliError('at least one argument needs to be provided for schedule policy name');
  }
  const schedules = (await ctx.api.list<VolumeSnapshotSchedule>(resources.volumeSnapshotSchedules)).items;
  for (const name of names) {
    const users = schedules
      .filter((s) => s.spec?.schedulePolicyName === name)
      .map((s) => `${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`);
    if (users.length > 0) {
      throw new CliError(
        `cannot delete the schedule policy ${name}.\nThe resource is linked to -> Volume Snapshot Schedules : ${users.join(' , ')}`,
      );
    }
    try {
      await ctx.api.delete(resources.schedulePolicies, { name });
    } catch (error) {
      if (isNotFound(error))
        throw new CliError(`schedulepolicies.stork.libopenstorage.org "${name}" not found`);
      throw error;
    }
    ctx.io.out(`Schedule policy ${name} deleted successfully\n`);
  }
}
