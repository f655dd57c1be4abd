import type { CustomResourceDefinition, ObjectMeta, ObjectReference } from '../../wire/k8s-types.js';
import { obj, objectReference, snapshotConditions, str, type JsonSchema } from './schema.js';

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
    /**
     * stork-ts's own source for a snapshot of CSI storage: the snapshot.storage.k8s.io VolumeSnapshot
     * (namespace, name) and, once bound, its class and VolumeSnapshotContent.
     */
    csiSnapshot?: Readonly<Record<string, string>>;
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

/**
 * One CRD of the external-storage snapshot API: both kinds share the group, the version, the status and the
 * columns that end every listing; they differ in scope, names, their own columns and the spec.
 */
function snapshotApiCrd(options: {
  kind: string;
  plural: string;
  scope: 'Namespaced' | 'Cluster';
  columns: { name: string; jsonPath: string }[];
  spec: JsonSchema;
}): CustomResourceDefinition {
  const { kind, plural } = options;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${plural}.${snapshotGroup}`, annotations: unapproved },
    spec: {
      group: snapshotGroup,
      scope: options.scope,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase() },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          // Status is written by stork alone: whoever may edit a snapshot must not be able to mark it Ready.
          subresources: { status: {} },
          additionalPrinterColumns: [
            ...options.columns.map((c) => ({ name: c.name, type: 'string', jsonPath: c.jsonPath })),
            { name: 'Status', type: 'string', jsonPath: '.status.conditions[-1:].type' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: obj(
              { apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec: options.spec, status },
              { required: ['spec'] },
            ),
          },
        },
      ],
    },
  };
}

export const volumeSnapshotCrd = snapshotApiCrd({
  kind: 'VolumeSnapshot',
  plural: 'volumesnapshots',
  scope: 'Namespaced',
  columns: [
    { name: 'PVC', jsonPath: '.spec.persistentVolumeClaimName' },
    { name: 'Data', jsonPath: '.spec.snapshotDataName' },
  ],
  spec: obj(
    {
      persistentVolumeClaimName: str('The claim (in the snapshot namespace) to snapshot.'),
      snapshotDataName: str('The VolumeSnapshotData holding the snapshot, set by stork.'),
    },
    { required: ['persistentVolumeClaimName'] },
  ),
});

export const volumeSnapshotDataCrd = snapshotApiCrd({
  kind: 'VolumeSnapshotData',
  plural: 'volumesnapshotdatas',
  scope: 'Cluster',
  columns: [
    { name: 'Snapshot', jsonPath: '.spec.volumeSnapshotRef.name' },
    { name: 'Volume', jsonPath: '.spec.persistentVolumeRef.name' },
  ],
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
});
