import type { CustomResourceDefinition, ObjectMeta } from '../../wire/k8s-types.js';
import { storkGroup } from './rule.js';
import { bool, obj, str, type JsonSchema } from './schema.js';
import type { SnapshotConditionType, VolumeSnapshot } from './volume-snapshot.js';

/** Stork's VolumeSnapshotSchedule: VolumeSnapshots taken from a template on a SchedulePolicy. */
export const volumeSnapshotScheduleApiVersion = `${storkGroup}/v1alpha1`;

export type SchedulePolicyType = 'Interval' | 'Daily' | 'Weekly' | 'Monthly';
export const schedulePolicyTypes: readonly SchedulePolicyType[] = ['Interval', 'Daily', 'Weekly', 'Monthly'];

export type ReclaimPolicy = 'Retain' | 'Delete';

/** One snapshot a schedule took, as Stork records it in `status.items`. */
export interface ScheduledVolumeSnapshotStatus {
  name: string;
  creationTimestamp?: string;
  finishTimestamp?: string;
  status?: SnapshotConditionType;
  message?: string;
  deleted?: boolean;
}

export interface ScheduleCondition {
  type: 'Scheduling';
  status: 'True' | 'False';
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface VolumeSnapshotSchedule {
  apiVersion?: typeof volumeSnapshotScheduleApiVersion;
  kind?: 'VolumeSnapshotSchedule';
  metadata: ObjectMeta;
  spec?: {
    template?: { spec?: Partial<VolumeSnapshot['spec']> };
    schedulePolicyName?: string;
    suspend?: boolean | null;
    reclaimPolicy?: ReclaimPolicy | '';
    preExecRule?: string;
    postExecRule?: string;
  };
  status?: {
    /** Stork's record, by policy type. */
    items?: Partial<Record<SchedulePolicyType, ScheduledVolumeSnapshotStatus[]>> | null;
    /** stork-ts: the due time (RFC 3339) of the last run taken, by policy type; runs are never retaken. */
    lastDue?: Partial<Record<SchedulePolicyType, string>>;
    /** stork-ts: the newest snapshot taken, and when the last one became Ready. */
    lastSnapshotName?: string;
    lastSuccessTime?: string;
    conditions?: ScheduleCondition[];
  };
}

const item: JsonSchema = obj({
  name: str(),
  creationTimestamp: { type: 'string', format: 'date-time' },
  finishTimestamp: { type: 'string', format: 'date-time' },
  status: str('Pending, Ready or Error: the condition of the snapshot.'),
  message: str(),
  deleted: bool('The snapshot object was deleted (an Error snapshot cleaned up).'),
});

const byPolicyType = (values: JsonSchema): JsonSchema =>
  obj(Object.fromEntries(schedulePolicyTypes.map((t) => [t, values])));

export const volumeSnapshotScheduleCrd: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `volumesnapshotschedules.${storkGroup}` },
  spec: {
    group: storkGroup,
    scope: 'Namespaced',
    names: {
      kind: 'VolumeSnapshotSchedule',
      listKind: 'VolumeSnapshotScheduleList',
      plural: 'volumesnapshotschedules',
      singular: 'volumesnapshotschedule',
      shortNames: ['snapshotschedule'],
    },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'PVC', type: 'string', jsonPath: '.spec.template.spec.persistentVolumeClaimName' },
          { name: 'Policy', type: 'string', jsonPath: '.spec.schedulePolicyName' },
          { name: 'Suspend', type: 'boolean', jsonPath: '.spec.suspend' },
          { name: 'Last-Snapshot', type: 'string', jsonPath: '.status.lastSnapshotName' },
          { name: 'Last-Success', type: 'date', jsonPath: '.status.lastSuccessTime' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: obj({
            apiVersion: str(),
            kind: str(),
            metadata: { type: 'object' },
            spec: obj({
              template: obj({
                spec: obj({
                  persistentVolumeClaimName: str('The claim (in the schedule namespace) to snapshot.'),
                  snapshotDataName: str(),
                }),
              }),
              schedulePolicyName: str(
                'A NamespacedSchedulePolicy in this namespace, else a SchedulePolicy, of this name.',
              ),
              suspend: { ...bool('Take no new snapshots while true.'), nullable: true },
              reclaimPolicy: str(
                'Delete (the default) or Retain the snapshots when the schedule is deleted.',
              ),
              preExecRule: str('Rule (in this namespace) run before each snapshot.'),
              postExecRule: str('Rule (in this namespace) run after each snapshot.'),
            }),
            status: obj({
              items: { ...byPolicyType({ type: 'array', items: item }), nullable: true },
              lastDue: byPolicyType({ type: 'string', format: 'date-time' }),
              lastSnapshotName: str(),
              lastSuccessTime: { type: 'string', format: 'date-time' },
              conditions: {
                type: 'array',
                items: obj({
                  type: str(),
                  status: str(),
                  reason: str(),
                  message: str(),
                  lastTransitionTime: { type: 'string', format: 'date-time' },
                }),
              },
            }),
          }),
        },
      },
    ],
  },
};
