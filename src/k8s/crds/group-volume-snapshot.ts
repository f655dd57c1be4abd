import type { CustomResourceDefinition, LabelSelector, ObjectMeta } from '../../wire/k8s-types.js';
import { storkGroup } from './rule.js';
import { obj, snapshotConditions, str, stringMap, type JsonSchema } from './schema.js';
import type { SnapshotCondition } from './volume-snapshot.js';

/**
 * Stork's GroupVolumeSnapshot (`stork.libopenstorage.org/v1alpha1`): one point in time for every claim a
 * selector picks, between one pre- and one post-snapshot rule. Kind, group and field names are Stork's,
 * so Stork's YAML applies unchanged, including the per-volume entries whose keys Stork writes with Go's
 * field names (`VolumeSnapshotName`, `Conditions`, ...).
 */
export const groupVolumeSnapshotApiVersion = `${storkGroup}/v1alpha1`;

export type GroupSnapshotStage = '' | 'PreChecks' | 'PreSnapshot' | 'Snapshot' | 'PostSnapshot' | 'Final';
export type GroupSnapshotStatus = '' | 'Pending' | 'InProgress' | 'Failed' | 'Successful';

export const groupSnapshotStages: readonly GroupSnapshotStage[] = [
  '',
  'PreChecks',
  'PreSnapshot',
  'Snapshot',
  'PostSnapshot',
  'Final',
];
export const groupSnapshotStatuses: readonly GroupSnapshotStatus[] = [
  '',
  'Pending',
  'InProgress',
  'Failed',
  'Successful',
];

/** One claim's snapshot in the group, as Stork records it. */
export interface GroupMemberSnapshotStatus {
  VolumeSnapshotName?: string;
  TaskID?: string;
  ParentVolumeID?: string;
  DataSource?: Record<string, unknown>;
  Conditions?: SnapshotCondition[];
}

export interface GroupVolumeSnapshot {
  apiVersion?: typeof groupVolumeSnapshotApiVersion;
  kind?: 'GroupVolumeSnapshot';
  metadata: ObjectMeta;
  spec: {
    preExecRule?: string;
    postExecRule?: string;
    pvcSelector?: LabelSelector;
    restoreNamespaces?: string[] | null;
    maxRetries?: number;
    options?: Record<string, string> | null;
  };
  status?: {
    stage?: GroupSnapshotStage;
    status?: GroupSnapshotStatus;
    numRetries?: number;
    volumeSnapshots?: GroupMemberSnapshotStatus[] | null;
    /** stork-ts's addition: the outcome and its cause (`Error` with the failure, `Ready` when done). */
    conditions?: SnapshotCondition[] | null;
  };
}

const labelSelector: JsonSchema = obj({
  matchLabels: stringMap(),
  matchExpressions: {
    type: 'array',
    items: obj(
      { key: str(), operator: str(), values: { type: 'array', items: str() } },
      { required: ['key', 'operator'] },
    ),
  },
});

export const groupVolumeSnapshotCrd: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `groupvolumesnapshots.${storkGroup}` },
  spec: {
    group: storkGroup,
    scope: 'Namespaced',
    names: {
      kind: 'GroupVolumeSnapshot',
      listKind: 'GroupVolumeSnapshotList',
      plural: 'groupvolumesnapshots',
      singular: 'groupvolumesnapshot',
      shortNames: ['groupsnapshot'],
    },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        // Status is stork's to write: whoever may edit the group must not be able to mark it Successful.
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Stage', type: 'string', jsonPath: '.status.stage' },
          { name: 'Status', type: 'string', jsonPath: '.status.status' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: obj(
            {
              apiVersion: str(),
              kind: str(),
              metadata: { type: 'object' },
              spec: obj({
                preExecRule: str('Rule (in this namespace) run once before the snapshots are taken.'),
                postExecRule: str('Rule (in this namespace) run once after they are taken.'),
                pvcSelector: {
                  ...labelSelector,
                  description: 'The claims (in this namespace) of the group.',
                },
                restoreNamespaces: {
                  type: 'array',
                  items: str(),
                  nullable: true,
                  description: 'Namespaces the snapshots may be restored into.',
                },
                maxRetries: { type: 'integer', description: 'Retries after a failure (default 0).' },
                options: { ...stringMap('Passed to the driver taking the group snapshot.'), nullable: true },
              }),
              status: obj({
                stage: { type: 'string', enum: [...groupSnapshotStages] },
                status: { type: 'string', enum: [...groupSnapshotStatuses] },
                numRetries: { type: 'integer' },
                volumeSnapshots: {
                  type: 'array',
                  nullable: true,
                  items: obj({
                    VolumeSnapshotName: str(),
                    TaskID: str(),
                    ParentVolumeID: str(),
                    DataSource: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                    Conditions: snapshotConditions,
                  }),
                },
                conditions: { ...snapshotConditions, nullable: true },
              }),
            },
            { required: ['spec'] },
          ),
        },
      },
    ],
  },
};
