import { describe, expect, it } from 'vitest';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import { foreignDataName, snapshotDataName } from './names.js';

const snapshot = (dataName?: string, uid = 'u-1'): VolumeSnapshot => ({
  metadata: { name: 's', namespace: 'ns', uid },
  spec: { persistentVolumeClaimName: 'c', ...(dataName === undefined ? {} : { snapshotDataName: dataName }) },
});

describe('foreignDataName', () => {
  it.each([
    ['unset', undefined, undefined],
    ["the one derived from the snapshot's UID", snapshotDataName('u-1'), undefined],
    ["another namespace's data", 'k8s-volume-snapshot-victim', 'k8s-volume-snapshot-victim'],
    ["a namesake's (another UID)", snapshotDataName('u-2'), snapshotDataName('u-2')],
    ['empty', '', ''],
  ])('spec.snapshotDataName %s → %s', (_, dataName, expected) => {
    expect(foreignDataName(snapshot(dataName))).toBe(expected);
  });
});
