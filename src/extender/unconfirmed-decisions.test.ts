import { describe, expect, it } from 'vitest';
import type { Pod } from '../wire/k8s-types.js';
import type { FilterDecision } from './filter.js';
import type { PrioritizeDecision } from './prioritize.js';
import type { DecisionRecord } from './server.js';
import { UnconfirmedDecisions } from './unconfirmed-decisions.js';

const pod = (name: string, uid: string): Pod => ({ metadata: { namespace: 'ns', name, uid } });
const filter: FilterDecision = { passed: ['n1'], failed: {}, requestVolumes: [] };
const prioritize: PrioritizeDecision = { scores: [], notHyperconverged: ['v1'], requestVolumes: [] };
const filtered = (p: Pod): DecisionRecord => ({ verb: 'filter', pod: p, decision: filter });
const prioritized = (p: Pod): DecisionRecord => ({ verb: 'prioritize', pod: p, decision: prioritize });

function setup(options: { maxPods?: number; maxAgeMs?: number } = {}) {
  let now = 0;
  const delivered: string[] = [];
  const held = new UnconfirmedDecisions({
    deliver: (r) => delivered.push(`${r.verb} ${r.pod.metadata?.name ?? ''}`),
    now: () => now,
    ...options,
  });
  return { held, delivered, advance: (ms: number) => (now += ms) };
}

describe('UnconfirmedDecisions', () => {
  it('delivers a pod’s decisions, in order, once the cache holds it with the same UID', () => {
    const { held, delivered } = setup();
    held.hold(filtered(pod('a', 'u1')));
    held.hold(prioritized(pod('a', 'u1')));
    expect(delivered).toEqual([]);
    held.podSeen(pod('a', 'u1'));
    expect(delivered).toEqual(['filter a', 'prioritize a']);
    held.podSeen(pod('a', 'u1'));
    expect(delivered).toHaveLength(2);
    expect(held.size).toBe(0);
  });

  it('never delivers for another UID (a forged or recreated pod of that name)', () => {
    const { held, delivered } = setup();
    held.hold(prioritized(pod('a', 'forged')));
    held.podSeen(pod('a', 'real'));
    expect(delivered).toEqual([]);
    expect(held.size).toBe(0);
  });

  it('keeps the latest decision of each verb, and drops what waited too long', () => {
    const { held, delivered, advance } = setup({ maxAgeMs: 1000 });
    held.hold(filtered(pod('a', 'u1')));
    held.hold(filtered(pod('a', 'u1')));
    held.hold(prioritized(pod('b', 'u2')));
    advance(1500);
    held.hold(prioritized(pod('a', 'u1')));
    held.podSeen(pod('a', 'u1'));
    held.podSeen(pod('b', 'u2'));
    expect(delivered).toEqual(['prioritize a']);
  });

  it('is bounded: past maxPods the oldest pod is forgotten', () => {
    const { held, delivered } = setup({ maxPods: 2 });
    for (const name of ['a', 'b', 'c']) held.hold(prioritized(pod(name, `u-${name}`)));
    expect(held.size).toBe(2);
    for (const name of ['a', 'b', 'c']) held.podSeen(pod(name, `u-${name}`));
    expect(delivered).toEqual(['prioritize b', 'prioritize c']);
  });
});
