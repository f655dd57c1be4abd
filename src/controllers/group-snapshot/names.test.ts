import { describe, expect, it } from 'vitest';
import { selectorProblem } from './members.js';
import { claimOfMemberName, isGroupMember, memberDriverSnapshotName, memberSnapshotName } from './names.js';

describe('group snapshot names', () => {
  it('member names are Stork’s, and give their claim back', () => {
    const name = memberSnapshotName('db', 'data-0', 'u-1');
    expect(name).toBe('db-data-0-u-1');
    expect(claimOfMemberName('db', name ?? '', 'u-1')).toBe('data-0');
    expect(claimOfMemberName('db', 'other-data-0-u-1', 'u-1')).toBeUndefined();
    expect(claimOfMemberName('db', 'db--u-1', 'u-1')).toBeUndefined();
  });

  it('a member name longer than an object name may be is refused, not cut', () => {
    expect(memberSnapshotName('g'.repeat(200), 'c'.repeat(20), 'u'.repeat(36))).toBeUndefined();
  });

  it('storage snapshot names differ per claim and group, and fit in a label value', () => {
    const a = memberDriverSnapshotName('g1', 'c1');
    expect(a).toBe(memberDriverSnapshotName('g1', 'c1'));
    expect(a).not.toBe(memberDriverSnapshotName('g1', 'c2'));
    expect(a).not.toBe(memberDriverSnapshotName('g2', 'c1'));
    expect(a.length).toBeLessThanOrEqual(63);
  });

  it('only VolumeSnapshots owned by a GroupVolumeSnapshot are members', () => {
    const owner = {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'GroupVolumeSnapshot',
      name: 'g',
      uid: 'u',
    };
    expect(isGroupMember({ metadata: { ownerReferences: [owner] } })).toBe(true);
    expect(isGroupMember({ metadata: { ownerReferences: [{ ...owner, kind: 'Deployment' }] } })).toBe(false);
    expect(isGroupMember({ metadata: {} })).toBe(false);
  });
});

describe('selectorProblem', () => {
  it.each([
    [undefined, /must have matchLabels or matchExpressions/],
    [{}, /must have matchLabels or matchExpressions/],
    [{ matchExpressions: [{ key: 'a', operator: 'Like' }] }, /operator "Like" is not one of/],
    [
      { matchLabels: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) },
      /more than 64 terms/,
    ],
  ])('%j is refused', (selector, message) => {
    expect(selectorProblem(selector)).toMatch(message);
  });

  it('labels or expressions are fine', () => {
    expect(selectorProblem({ matchLabels: { app: 'db' } })).toBeUndefined();
    expect(selectorProblem({ matchExpressions: [{ key: 'app', operator: 'Exists' }] })).toBeUndefined();
  });
});
