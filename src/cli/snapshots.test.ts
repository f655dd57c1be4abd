import { describe, expect, it } from 'vitest';
import type { SnapshotCondition, VolumeSnapshot } from '../k8s/crds/volume-snapshot.js';
import { snapshotRow, snapshotType } from './snapshots.js';

const snapshot = (conditions: SnapshotCondition[]): VolumeSnapshot => ({
  metadata: { name: 's1', creationTimestamp: '2026-01-02T03:04:05Z' },
  spec: { persistentVolumeClaimName: 'data' },
  status: { conditions },
});

describe('snapshot rows', () => {
  it('is Ready with a completion time once the Ready condition holds, else Pending', () => {
    expect(snapshotRow(snapshot([]), undefined)).toEqual([
      's1',
      'data',
      'Pending',
      '02 Jan 26 03:04 UTC',
      '',
      'Local',
    ]);
    expect(snapshotRow(snapshot([{ type: 'Ready', status: 'False' }]), 'local')[2]).toBe('Pending');
    expect(
      snapshotRow(
        snapshot([{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-02T03:05:00Z' }]),
        'cloud',
      ),
    ).toEqual(['s1', 'data', 'Ready', '02 Jan 26 03:04 UTC', '02 Jan 26 03:05 UTC', 'cloud']);
  });

  it('takes the type from the data object: local, cloud, group local', () => {
    const data = (portworxVolume?: {
      snapshotId: string;
      snapshotType?: 'local' | 'cloud';
      snapshotData?: string;
    }) => ({
      metadata: {},
      spec: portworxVolume ? { portworxVolume } : {},
    });
    expect(snapshotType(data({ snapshotId: 'x' }))).toBe('local');
    expect(snapshotType(data({ snapshotId: 'x', snapshotType: 'cloud' }))).toBe('cloud');
    expect(snapshotType(data({ snapshotId: 'x', snapshotType: 'local', snapshotData: 'a,b' }))).toBe(
      'group local',
    );
    expect(snapshotType(data())).toBe('Local');
  });
});
