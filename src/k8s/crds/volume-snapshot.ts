import type { ObjectReference } from 'kubernetes-types/core/v1.js';
import type { ObjectMeta } from 'kubernetes-types/meta/v1.js';
import type { CustomResourceDefinition } from 'kubernetes-types/apiextensions/v1.js';
import { obj, objectReference, snapshotConditions, str } from './schema.js';

/**
 * The snapshot API of kubernetes-incubator/external-storage, which Stork serves
 * (`volumesnapshot.external-storage.k8s.io/v1`): field names and condition types as users have them.
 */
export const snapshotGroup = 'volumesnapshot.external-storage.k8s.io';
export const snapshotApiVersion = `${snapshotGroup}/v1`;

export type SnapshotConditionType = 'Pending' | 'Ready' | 'Error';

export interface SnapshotCondition {
  type: SnapshotConditionType;
  status: 'True' | 'False' | 'Unknown';
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface VolumeSnapshot {
  apiVersion?: typeof snapshotApiVersion;
  kind?: 'VolumeSnapshot';
  metadata: ObjectMeta;
  spec: {
    persistentVolumeClaimName: string;
    /** Set by the controller once the snapshot is bound to its data object. */
    snapshotDataName?: string;
  };
  status?: {
    creationTimestamp?: string;
    conditions?: SnapshotCondition[];
  };
}

/** The Portworx source of a snapshot's data (Stork's `portworxVolume`). */
export interface PortworxSnapshotSource {
  snapshotId: string;
  snapshotType?: 'local' | 'cloud';
  snapshotCloudCredID?: string;
  /** For group snapshots: the ids of the member snapshots, comma-separated. */
  snapshotData?: string;
}

export interface VolumeSnapshotData {
  apiVersion?: typeof snapshotApiVersion;
  kind?: 'VolumeSnapshotData';
  metadata: ObjectMeta;
  spec: {
    portworxVolume?: PortworxSnapshotSource;
    volumeSnapshotRef?: ObjectReference;
    persistentVolumeRef?: ObjectReference;
  };
  status?: {
    creationTimestamp?: string;
    conditions?: SnapshotCondition[];
  };
}

const status = obj({
  creationTimestamp: { type: 'string', format: 'date-time' },
  conditions: snapshotConditions,
});

/**
 * Groups under k8s.io are reserved for APIs reviewed upstream; this one never was (it comes from the
 * retired external-storage project). The API server accepts it when the annotation says so.
 */
const unapproved = {
  'api-approved.kubernetes.io': 'unapproved, external-storage snapshot API kept for compatibility with Stork',
};

const printerColumns = [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }];

export const volumeSnapshotCrd: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `volumesnapshots.${snapshotGroup}`, annotations: unapproved },
  spec: {
    group: snapshotGroup,
    scope: 'Namespaced',
    names: {
      kind: 'VolumeSnapshot',
      listKind: 'VolumeSnapshotList',
      plural: 'volumesnapshots',
      singular: 'volumesnapshot',
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: {},
        additionalPrinterColumns: [
          { name: 'PVC', type: 'string', jsonPath: '.spec.persistentVolumeClaimName' },
          { name: 'Data', type: 'string', jsonPath: '.spec.snapshotDataName' },
          { name: 'Status', type: 'string', jsonPath: '.status.conditions[-1:].type' },
          ...printerColumns,
        ],
        schema: {
          openAPIV3Schema: obj(
            {
              apiVersion: str(),
              kind: str(),
              metadata: { type: 'object' },
              spec: obj(
                {
                  persistentVolumeClaimName: str('The claim (in the snapshot namespace) to snapshot.'),
                  snapshotDataName: str('The VolumeSnapshotData holding the snapshot, set by stork.'),
                },
                { required: ['persistentVolumeClaimName'] },
              ),
              status,
            },
            { required: ['spec'] },
          ),
        },
      },
    ],
  },
};

export const volumeSnapshotDataCrd: CustomResourceDefinition = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `volumesnapshotdatas.${snapshotGroup}`, annotations: unapproved },
  spec: {
    group: snapshotGroup,
    scope: 'Cluster',
    names: {
      kind: 'VolumeSnapshotData',
      listKind: 'VolumeSnapshotDataList',
      plural: 'volumesnapshotdatas',
      singular: 'volumesnapshotdata',
    },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: {},
        additionalPrinterColumns: [
          { name: 'Snapshot', type: 'string', jsonPath: '.spec.volumeSnapshotRef.name' },
          { name: 'Volume', type: 'string', jsonPath: '.spec.persistentVolumeRef.name' },
          { name: 'Status', type: 'string', jsonPath: '.status.conditions[-1:].type' },
          ...printerColumns,
        ],
        schema: {
          openAPIV3Schema: obj(
            {
              apiVersion: str(),
              kind: str(),
              metadata: { type: 'object' },
              spec: obj(
                {
                  portworxVolume: obj(
                    {
                      snapshotId: str(),
                      snapshotType: { type: 'string', enum: ['local', 'cloud'] },
                      snapshotCloudCredID: str(),
                      snapshotData: str(),
                    },
                    { required: ['snapshotId'] },
                  ),
                  volumeSnapshotRef: objectReference,
                  persistentVolumeRef: objectReference,
                },
                // Other storage systems' sources (hostPath, awsElasticBlockStore...) are kept as written.
                { 'x-kubernetes-preserve-unknown-fields': true },
              ),
              status,
            },
            { required: ['spec'] },
          ),
        },
      },
    ],
  },
};
