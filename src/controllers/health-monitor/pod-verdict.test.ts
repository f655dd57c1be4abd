import type { PersistentVolume } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { pinnedToOneNode } from './pod-verdict.js';

type Term = NonNullable<
  NonNullable<NonNullable<PersistentVolume['spec']>['nodeAffinity']>['required']
>['nodeSelectorTerms'][number];
const pv = (...terms: Term[]): PersistentVolume => ({
  metadata: { name: 'pv' },
  spec: terms.length ? { nodeAffinity: { required: { nodeSelectorTerms: terms } } } : {},
});
const host = (...values: string[]): Term => ({
  matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values }],
});

describe('pinnedToOneNode', () => {
  it.each<[string, PersistentVolume, boolean]>([
    ['no node affinity (network storage)', pv(), false],
    ['one hostname', pv(host('n1')), true],
    [
      'one node name field',
      pv({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }),
      true,
    ],
    ['two hostnames', pv(host('n1', 'n2')), false],
    ['two terms naming two nodes', pv(host('n1'), host('n2')), false],
    ['two terms naming the same node', pv(host('n1'), host('n1')), true],
    [
      'a zone only',
      pv({ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['a'] }] }),
      false,
    ],
    [
      'hostname NotIn',
      pv({ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['n1'] }] }),
      false,
    ],
  ])('%s: %s', (_name, volume, pinned) => {
    expect(pinnedToOneNode(volume)).toBe(pinned);
  });
});
