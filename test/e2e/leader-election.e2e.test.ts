import type { Lease } from '../../src/wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { LeaderElector } from '../../src/k8s/leader-election.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { useBox } from './helpers.js';

const timings = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 300 };

describe('leader election on a Lease against the real API server', () => {
  const ctx = useBox(() => ({}));

  function candidate(name: string, identity: string) {
    const elector = new LeaderElector({
      api: ctx.box.api,
      namespace: 'kube-system',
      name,
      identity,
      ...timings,
    });
    const leading: string[] = [];
    const campaign = elector.run(async (signal) => {
      leading.push('start');
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
      leading.push('stop');
    });
    return { elector, leading, campaign };
  }

  it('elects exactly one of two replicas, and hands over at once when the leader stops', async () => {
    const a = candidate('le-handover', 'replica-a');
    const b = candidate('le-handover', 'replica-b');
    try {
      await waitFor('a leader', () => a.elector.isLeader || b.elector.isLeader, { timeoutMs: 10_000 });
      // Hold for a few renewals: still exactly one.
      await new Promise((resolve) => setTimeout(resolve, timings.retryPeriodMs * 5));
      expect([a.elector.isLeader, b.elector.isLeader].filter(Boolean)).toHaveLength(1);
      const [leader, follower] = a.elector.isLeader ? [a, b] : [b, a];
      const lease = await ctx.box.api.get<Lease>(resources.leases, {
        namespace: 'kube-system',
        name: 'le-handover',
      });
      expect(lease.spec?.holderIdentity).toBe(leader === a ? 'replica-a' : 'replica-b');

      const stoppedAt = Date.now();
      leader.elector.stop();
      await leader.campaign;
      expect(leader.leading).toEqual(['start', 'stop']);
      // The released lease is taken on the follower's next try, not after a lease duration.
      await waitFor('the follower to lead', () => follower.elector.isLeader, { timeoutMs: 10_000 });
      expect(Date.now() - stoppedAt).toBeLessThan(timings.leaseDurationMs);
    } finally {
      a.elector.stop();
      b.elector.stop();
      await Promise.all([a.campaign, b.campaign]);
    }
  });

  it('takes over from a leader that died without releasing only after its lease expired', async () => {
    // A Lease's times are MicroTime: RFC 3339 with microseconds.
    const now = new Date().toISOString().replace(/Z$/, '000Z');
    await ctx.box.api.create<Lease>(
      resources.leases,
      {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: 'le-crash', namespace: 'kube-system' },
        spec: {
          holderIdentity: 'crashed-replica',
          leaseDurationSeconds: 3,
          renewTime: now,
          acquireTime: now,
        },
      },
      'kube-system',
    );
    const started = Date.now();
    const c = candidate('le-crash', 'replica-c');
    try {
      await waitFor('the new replica to lead', () => c.elector.isLeader, { timeoutMs: 15_000 });
      expect(Date.now() - started).toBeGreaterThanOrEqual(timings.leaseDurationMs - 100);
      const lease = await ctx.box.api.get<Lease>(resources.leases, {
        namespace: 'kube-system',
        name: 'le-crash',
      });
      expect(lease.spec?.holderIdentity).toBe('replica-c');
      expect(lease.spec?.leaseTransitions).toBe(1);
    } finally {
      c.elector.stop();
      await c.campaign;
    }
  });
});
