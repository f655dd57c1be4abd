import { describe, expect, it } from 'vitest';
import { groupVolumeSnapshotCrd, type GroupVolumeSnapshot } from './group-volume-snapshot.js';
import type { JsonSchema } from './schema.js';

/** The paths of an object's fields that the schema has no place for (a structural schema prunes them). */
function unknownFields(value: unknown, schema: JsonSchema | undefined, path = ''): string[] {
  if (!schema || schema['x-kubernetes-preserve-unknown-fields']) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, schema.items, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return [];
  // An object schema without properties (metadata) is the API server's to check.
  if (!schema.properties && !schema.additionalProperties) return [];
  return Object.entries(value).flatMap(([key, v]) => {
    const next = schema.properties?.[key] ?? schema.additionalProperties;
    return next ? unknownFields(v, next, `${path}.${key}`) : [`${path}.${key}`];
  });
}

// Stork's documented example, with a status as Stork writes it.
const storkExample: GroupVolumeSnapshot = {
  apiVersion: 'stork.libopenstorage.org/v1alpha1',
  kind: 'GroupVolumeSnapshot',
  metadata: { name: 'cassandra-group-snapshot' },
  spec: {
    preExecRule: 'cassandra-presnap-rule',
    postExecRule: 'cassandra-postsnap-rule',
    pvcSelector: { matchLabels: { app: 'cassandra' } },
    restoreNamespaces: ['prod'],
    maxRetries: 3,
    options: { 'portworx/snapshot-type': 'local' },
  },
  status: {
    stage: 'Final',
    status: 'Successful',
    numRetries: 0,
    volumeSnapshots: [
      {
        VolumeSnapshotName: 'cassandra-group-snapshot-cassandra-data-cassandra-0-1b2c',
        TaskID: '',
        ParentVolumeID: '763613271174793816',
        DataSource: { portworxVolume: { snapshotId: '1' } },
        Conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
      },
    ],
  },
};

describe('the GroupVolumeSnapshot CRD', () => {
  const version = groupVolumeSnapshotCrd.spec.versions[0];

  it('keeps Stork’s group, kind and names', () => {
    expect(groupVolumeSnapshotCrd.spec.group).toBe('stork.libopenstorage.org');
    expect(groupVolumeSnapshotCrd.spec.names).toMatchObject({
      kind: 'GroupVolumeSnapshot',
      plural: 'groupvolumesnapshots',
    });
    expect(version?.name).toBe('v1alpha1');
  });

  it('keeps every field of Stork’s YAML, spec and status (nothing pruned)', () => {
    const schema = version?.schema?.openAPIV3Schema as JsonSchema;
    expect(unknownFields(storkExample, schema)).toEqual([]);
    // The check itself finds a field the schema lacks.
    expect(unknownFields({ spec: { preSnapshotRule: 'x' } }, schema)).toEqual(['.spec.preSnapshotRule']);
  });

  it('has a status subresource and shows stage and status in kubectl get', () => {
    expect(version?.subresources?.status).toEqual({});
    expect(version?.additionalPrinterColumns?.map((c) => [c.name, c.jsonPath])).toEqual([
      ['Stage', '.status.stage'],
      ['Status', '.status.status'],
      ['Age', '.metadata.creationTimestamp'],
    ]);
  });
});
