import type { CustomResourceDefinition, ObjectMeta } from '../../wire/k8s-types.js';
import { obj, str, stringMap, type JsonSchema } from './schema.js';
import { storkGroup } from './rule.js';

/**
 * Stork's SchedulePolicy (cluster-scoped) and NamespacedSchedulePolicy (same shape, in a namespace):
 * when something runs and how many of its results are kept. Field names are Stork's.
 */
export const schedulePolicyApiVersion = `${storkGroup}/v1alpha1`;

export interface IntervalPolicy {
  intervalMinutes?: number;
  retain?: number;
  options?: Record<string, string>;
}

export interface DailyPolicy {
  /** Go's time.Kitchen: `12:04PM` or `12:04pm`. */
  time?: string;
  retain?: number;
  options?: Record<string, string>;
  forceFullSnapshotDay?: string;
}

export interface WeeklyPolicy {
  day?: string;
  time?: string;
  retain?: number;
  options?: Record<string, string>;
}

export interface MonthlyPolicy {
  date?: number;
  time?: string;
  retain?: number;
  options?: Record<string, string>;
}

export interface SchedulePolicyItem {
  interval?: IntervalPolicy | null | undefined;
  daily?: DailyPolicy | null | undefined;
  weekly?: WeeklyPolicy | null | undefined;
  monthly?: MonthlyPolicy | null | undefined;
}

export interface SchedulePolicy {
  apiVersion?: typeof schedulePolicyApiVersion;
  kind?: 'SchedulePolicy' | 'NamespacedSchedulePolicy';
  metadata: ObjectMeta;
  policy?: SchedulePolicyItem;
}

const retain: JsonSchema = {
  type: 'integer',
  description: 'How many results to keep; 0 or unset takes the default of the policy type.',
};
const time = str('Time of day, Go time.Kitchen: 12:04PM or 12:04pm.');
const options: JsonSchema = {
  ...stringMap('Annotations given to each object this policy triggers.'),
  nullable: true,
};
// Go's nil pointers serialise as null: Stork's own YAML carries `interval: null` and the like.
const nullable = (schema: JsonSchema): JsonSchema => ({ ...schema, nullable: true });

// Values are deliberately not range-checked here: stork validates them and says what is wrong in an
// event on the policy and on each schedule using it, as Stork does.
const policy: JsonSchema = obj({
  interval: nullable(
    obj({
      intervalMinutes: { type: 'integer', description: 'Minutes between runs (at least 1).' },
      retain,
      options,
    }),
  ),
  daily: nullable(
    obj({
      time,
      retain,
      options,
      forceFullSnapshotDay: str('Day of the week of a full (not incremental) cloud snapshot.'),
    }),
  ),
  weekly: nullable(
    obj({ day: str('Day of the week: Sunday, Sun, sunday, sun, ...'), time, retain, options }),
  ),
  monthly: nullable(
    obj({
      date: { type: 'integer', description: 'Day of the month, 1-31 (the last day in shorter months).' },
      time,
      retain,
      options,
    }),
  ),
});

function policyCrd(kind: string, plural: string, scope: 'Cluster' | 'Namespaced') {
  const crd: CustomResourceDefinition = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${storkGroup}` },
    spec: {
      group: storkGroup,
      scope,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1alpha1',
          served: true,
          storage: true,
          additionalPrinterColumns: [
            { name: 'Interval-Minutes', type: 'integer', jsonPath: '.policy.interval.intervalMinutes' },
            { name: 'Daily', type: 'string', jsonPath: '.policy.daily.time' },
            { name: 'Weekly-Day', type: 'string', jsonPath: '.policy.weekly.day' },
            { name: 'Weekly-Time', type: 'string', jsonPath: '.policy.weekly.time' },
            { name: 'Monthly-Date', type: 'integer', jsonPath: '.policy.monthly.date' },
            { name: 'Monthly-Time', type: 'string', jsonPath: '.policy.monthly.time' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: obj({ apiVersion: str(), kind: str(), metadata: { type: 'object' }, policy }),
          },
        },
      ],
    },
  };
  return crd;
}

export const schedulePolicyCrd = policyCrd('SchedulePolicy', 'schedulepolicies', 'Cluster');
export const namespacedSchedulePolicyCrd = policyCrd(
  'NamespacedSchedulePolicy',
  'namespacedschedulepolicies',
  'Namespaced',
);
