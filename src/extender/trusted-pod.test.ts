import { describe, expect, it } from 'vitest';
import type { Pod } from '../wire/k8s-types.js';
import { isCachedPod } from './trusted-pod.js';

const cached: Pod = { metadata: { namespace: 'team', name: 'db-0', uid: 'uid-1' } };
const lookup = (namespace: string, name: string): Pod | undefined =>
  namespace === 'team' && name === 'db-0' ? cached : undefined;

describe('isCachedPod', () => {
  it.each([
    ['the cached pod', { metadata: { namespace: 'team', name: 'db-0', uid: 'uid-1' } }, true],
    [
      'its name with another UID (forged)',
      { metadata: { namespace: 'team', name: 'db-0', uid: 'uid-2' } },
      false,
    ],
    ['its name without a UID', { metadata: { namespace: 'team', name: 'db-0' } }, false],
    ['a pod not in the cache', { metadata: { namespace: 'kube-system', name: 'x', uid: 'uid-1' } }, false],
    ['no namespace', { metadata: { name: 'db-0', uid: 'uid-1' } }, false],
  ] as [string, Pod, boolean][])('%s: %s', (_what, sent, trusted) => {
    expect(isCachedPod(sent, lookup)).toBe(trusted);
  });
});
