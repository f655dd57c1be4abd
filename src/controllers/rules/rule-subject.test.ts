import { describe, expect, it } from 'vitest';
import { resources } from '../../k8s/paths.js';
import { FakeKubeClient } from '../../k8s/testing/fake-client.js';
import { groupVolumeSnapshotSubject, volumeSnapshotSubject } from './rule-subject.js';

const signal = new AbortController().signal;

describe('rule subjects', () => {
  it('a GroupVolumeSnapshot names its rules in its spec, not in annotations', () => {
    const group = {
      metadata: { annotations: { 'stork.libopenstorage.org/pre-snapshot-rule': 'ignored' } },
      spec: { preExecRule: ' freeze ', postExecRule: '' },
    };
    expect(groupVolumeSnapshotSubject.ruleName(group, 'pre')).toBe('freeze');
    expect(groupVolumeSnapshotSubject.ruleName(group, 'post')).toBeUndefined();
    expect(volumeSnapshotSubject.ruleName(group, 'pre')).toBe('ignored');
  });

  it("a group's claims are those of its own namespace its selector matches", async () => {
    const api = new FakeKubeClient();
    const claim = (namespace: string, name: string, app: string) => ({
      metadata: { namespace, name, labels: { app } },
      spec: {},
    });
    api.seed(
      resources.persistentVolumeClaims,
      claim('shop', 'a', 'db'),
      claim('shop', 'b', 'web'),
      claim('other', 'c', 'db'),
    );
    const group = { metadata: { namespace: 'shop' }, spec: { pvcSelector: { matchLabels: { app: 'db' } } } };
    expect(await groupVolumeSnapshotSubject.claimsOf(group, api, signal)).toEqual(['a']);
    expect(
      await groupVolumeSnapshotSubject.claimsOf({ metadata: { namespace: 'shop' } }, api, signal),
    ).toEqual([]);
    expect(
      await volumeSnapshotSubject.claimsOf(
        { metadata: {}, spec: { persistentVolumeClaimName: 'x' } },
        api,
        signal,
      ),
    ).toEqual(['x']);
  });
});
