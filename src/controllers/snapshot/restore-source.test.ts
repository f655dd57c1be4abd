import type { PersistentVolumeClaim } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import type { VolumeSnapshot } from '../../k8s/crds/volume-snapshot.js';
import type { VolumeSnapshotData } from '../../k8s/crds/volume-snapshot.js';
import {
  checkRestore,
  checkSnapshotData,
  restoreAllowed,
  restoreRef,
  restoreRefusal,
  RestoreRefused,
} from './restore-source.js';

const claim = (
  namespace: string,
  annotations: Record<string, string>,
  selector = false,
): PersistentVolumeClaim => ({
  metadata: { name: 'c', namespace, annotations },
  spec: selector ? { selector: { matchLabels: { a: 'b' } } } : {},
});

const snapshot = (
  namespace: string,
  restoreNamespaces?: string,
  state?: 'Pending' | 'Ready' | 'Error',
): VolumeSnapshot => ({
  metadata: {
    name: 's',
    namespace,
    uid: 'uid-1',
    ...(restoreNamespaces !== undefined
      ? { annotations: { 'stork/snapshot-restore-namespaces': restoreNamespaces } }
      : {}),
  },
  spec: {
    persistentVolumeClaimName: 'data',
    ...(state === 'Ready' ? { snapshotDataName: 'k8s-volume-snapshot-1' } : {}),
  },
  ...(state ? { status: { conditions: [{ type: state, status: 'True', message: 'because' }] } } : {}),
});

describe('restoreRef', () => {
  it('reads the snapshot annotation, in the claim namespace unless a source namespace is named', () => {
    expect(restoreRef(claim('a', {}))).toBeUndefined();
    expect(restoreRef(claim('a', { 'snapshot.alpha.kubernetes.io/snapshot': 's' }))).toEqual({
      namespace: 'a',
      name: 's',
    });
    expect(
      restoreRef(
        claim('a', { 'snapshot.alpha.kubernetes.io/snapshot': 's', 'stork/snapshot-source-namespace': 'b' }),
      ),
    ).toEqual({ namespace: 'b', name: 's' });
  });
});

describe('restoreAllowed', () => {
  it('allows the own namespace, and others only by an anchored regex of the CSV', () => {
    expect(restoreAllowed(snapshot('src'), 'src')).toBe(true);
    expect(restoreAllowed(snapshot('src'), 'dst')).toBe(false);
    expect(restoreAllowed(snapshot('src', 'x, dst'), 'dst')).toBe(true);
    expect(restoreAllowed(snapshot('src', 'ds'), 'dst')).toBe(false);
    expect(restoreAllowed(snapshot('src', 'dst'), 'dst-2')).toBe(false);
    expect(restoreAllowed(snapshot('src', 'dst-.*'), 'dst-2')).toBe(true);
    expect(restoreAllowed(snapshot('src', '('), 'dst')).toBe(false);
    expect(restoreAllowed(snapshot('src', 'a|dst'), 'dst')).toBe(true);
  });

  it('answers patterns that are catastrophic for a backtracking engine (seconds in V8), by matching', () => {
    // V8 took 14 s and 27 s on these two for this 18-character name.
    const namespace = 'aaaaaaaaaaaaaaaaa-';
    expect(restoreAllowed(snapshot('src', '((a+)+)+$'), namespace)).toBe(false);
    expect(restoreAllowed(snapshot('src', '((a*)*)*b'), namespace)).toBe(false);
    expect(restoreAllowed(snapshot('src', '((a*)*)*b, ((a|-)+)+'), namespace)).toBe(true);
  });

  it('names invalid patterns, which allow nothing, and refuses an overlong annotation unread', () => {
    expect(restoreRefusal(snapshot('src', '(, dst'), 'dst')).toBeUndefined();
    expect(restoreRefusal(snapshot('src', '(, x'), 'dst')).toBe(
      `it is not allowed by the snapshot's stork/snapshot-restore-namespaces annotation ("(, x"); ` +
        'invalid pattern(s) allow nothing: "(": missing ) (at character 2)',
    );
    expect(restoreRefusal(snapshot('src', '(?=dst)dst'), 'dst')).toMatch(/lookaround is not supported/);
    const long = `${'x|'.repeat(600)}dst`;
    expect(restoreRefusal(snapshot('src', long), 'dst')).toBe(
      "the snapshot's stork/snapshot-restore-namespaces annotation is 1203 characters long; at most 1024 are allowed",
    );
  });
});

describe('checkRestore', () => {
  const ref = { namespace: 'src', name: 's' };
  const pvc = claim('src', { 'snapshot.alpha.kubernetes.io/snapshot': 's' });
  it("returns the data name derived from the snapshot's UID, never the one its spec names", () => {
    expect(checkRestore(pvc, ref, snapshot('src', undefined, 'Ready'))).toBe('k8s-volume-snapshot-uid-1');
    const forged = snapshot('src', undefined, 'Ready');
    forged.spec.snapshotDataName = 'k8s-volume-snapshot-of-another-namespace';
    expect(checkRestore(pvc, ref, forged)).toBe('k8s-volume-snapshot-uid-1');
  });
  it('says why a claim cannot be restored', () => {
    const refused = (fn: () => unknown): string => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(RestoreRefused);
        return (error as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(refused(() => checkRestore(pvc, ref, undefined))).toBe('snapshot src/s not found');
    expect(refused(() => checkRestore(pvc, ref, snapshot('src', undefined, 'Pending')))).toMatch(/not ready/);
    expect(refused(() => checkRestore(pvc, ref, snapshot('src')))).toMatch(/not ready/);
    expect(refused(() => checkRestore(pvc, ref, snapshot('src', undefined, 'Error')))).toMatch(
      /failed: because/,
    );
    const selector = claim('src', { 'snapshot.alpha.kubernetes.io/snapshot': 's' }, true);
    expect(refused(() => checkRestore(selector, ref, snapshot('src', undefined, 'Ready')))).toMatch(
      /Selector/,
    );
    const other = claim('dst', { 'snapshot.alpha.kubernetes.io/snapshot': 's' });
    expect(refused(() => checkRestore(other, ref, snapshot('src', undefined, 'Ready')))).toMatch(
      /not allowed by the snapshot's stork\/snapshot-restore-namespaces annotation \(not set\)$/,
    );
    expect(refused(() => checkRestore(other, ref, snapshot('src', 'ds', 'Ready')))).toMatch(/\("ds"\)$/);
  });
});

describe('checkSnapshotData', () => {
  const ready = snapshot('src', undefined, 'Ready');
  const data = (volumeSnapshotRef?: VolumeSnapshotData['spec']['volumeSnapshotRef']): VolumeSnapshotData => ({
    metadata: { name: 'k8s-volume-snapshot-uid-1' },
    spec: { portworxVolume: { snapshotId: '42' }, ...(volumeSnapshotRef ? { volumeSnapshotRef } : {}) },
  });
  const own = { kind: 'VolumeSnapshot', namespace: 'src', name: 's', uid: 'uid-1' };
  it('accepts the data object bound to this very snapshot', () => {
    expect(() => checkSnapshotData(ready, data(own))).not.toThrow();
  });
  it.each([
    ['no volumeSnapshotRef', undefined],
    ['another namespace', { ...own, namespace: 'victim' }],
    ['another name', { ...own, name: 'other' }],
    ['another UID (a namesake)', { ...own, uid: 'uid-2' }],
    ['no UID', { kind: 'VolumeSnapshot', namespace: 'src', name: 's' }],
  ])('refuses a data object with %s', (_, ref) => {
    expect(() => checkSnapshotData(ready, data(ref))).toThrow(RestoreRefused);
    expect(() => checkSnapshotData(ready, data(ref))).toThrow(
      /VolumeSnapshotData k8s-volume-snapshot-uid-1 does not belong to snapshot src\/s/,
    );
  });
});
