import type { Pod } from '../../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { actionTargets, matchesSelector, podsUsingClaims } from './rule-targets.js';
import type { NormalisedAction, NormalisedItem } from './rule-spec.js';

function pod(
  name: string,
  extra: {
    claims?: string[];
    labels?: Record<string, string>;
    phase?: string;
    deleting?: boolean;
    containers?: string[];
  } = {},
): Pod {
  return {
    metadata: {
      name,
      namespace: 'db',
      uid: `uid-${name}`,
      labels: extra.labels ?? {},
      ...(extra.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      containers: (extra.containers ?? ['main', 'sidecar']).map((c) => ({ name: c })),
      volumes: (extra.claims ?? []).map((claimName, i) => ({
        name: `v${i}`,
        persistentVolumeClaim: { claimName },
      })),
    },
    status: { phase: extra.phase ?? 'Running' },
  };
}

const action = (a: Partial<NormalisedAction> = {}): NormalisedAction => ({
  type: 'command',
  value: 'true',
  background: false,
  runInSinglePod: false,
  ...a,
});
const item = (i: Partial<NormalisedItem> = {}): NormalisedItem => ({
  podSelector: {},
  container: undefined,
  actions: [],
  ...i,
});

describe('podsUsingClaims', () => {
  it('keeps running pods that mount any of the claims, once each, in name order', () => {
    const pods = [
      pod('b', { claims: ['data', 'logs'] }),
      pod('a', { claims: ['logs'] }),
      pod('c', { claims: ['other'] }),
      pod('d', { claims: ['data'], phase: 'Pending' }),
      pod('e', { claims: ['data'], deleting: true }),
      pod('f'),
    ];
    expect(podsUsingClaims(pods, ['data', 'logs']).map((p) => p.metadata?.name)).toEqual(['a', 'b']);
    expect(podsUsingClaims(pods, [])).toEqual([]);
  });
});

describe('matchesSelector', () => {
  it('needs every label of the selector; an empty selector matches all', () => {
    const p = pod('a', { labels: { app: 'mysql', tier: 'db' } });
    expect(matchesSelector(p, { app: 'mysql' })).toBe(true);
    expect(matchesSelector(p, { app: 'mysql', tier: 'web' })).toBe(false);
    expect(matchesSelector(p, { missing: '' })).toBe(false);
    expect(matchesSelector(p, {})).toBe(true);
  });
});

describe('actionTargets', () => {
  const pods = [
    pod('a', { labels: { app: 'x' } }),
    pod('b', { labels: { app: 'x' } }),
    pod('c', { labels: { app: 'y' } }),
  ];

  it('targets the matching pods in their first container, or the named one', () => {
    expect(actionTargets(pods, item({ podSelector: { app: 'x' } }), action())).toEqual([
      { namespace: 'db', name: 'a', uid: 'uid-a', container: 'main' },
      { namespace: 'db', name: 'b', uid: 'uid-b', container: 'main' },
    ]);
    expect(actionTargets(pods, item({ podSelector: { app: 'y' }, container: 'sidecar' }), action())).toEqual([
      { namespace: 'db', name: 'c', uid: 'uid-c', container: 'sidecar' },
    ]);
  });

  it('runInSinglePod takes the first matching pod only', () => {
    expect(
      actionTargets(pods, item({ podSelector: { app: 'x' } }), action({ runInSinglePod: true })).map(
        (t) => t.name,
      ),
    ).toEqual(['a']);
  });

  it('a selector that matches nothing has no targets', () => {
    expect(
      actionTargets(pods, item({ podSelector: { app: 'z' } }), action({ runInSinglePod: true })),
    ).toEqual([]);
  });

  it('refuses a container the pod does not have', () => {
    expect(() => actionTargets(pods, item({ container: 'nope' }), action())).toThrow(
      'pod db/a has no container nope',
    );
  });
});
