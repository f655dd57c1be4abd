import type { Lease } from '../wire/k8s-types.js';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../lib/fake-clock.js';
import { statusError } from './errors.js';
import { LeaderElector, LeadershipOverrunError, type LeaderElectionConfig } from './leader-election.js';
import { resources } from './paths.js';
import { FakeKubeClient, type Fault } from './testing/fake-client.js';

const timings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };
const lockRef = { namespace: 'ns', name: 'lock' };

/** One candidate on a shared fake API and clock, with the times (on the fake clock) its terms began and ended. */
function candidate(
  api: FakeKubeClient,
  clock: FakeClock,
  identity: string,
  options: { ignoreSignal?: boolean; config?: Partial<LeaderElectionConfig> } = {},
) {
  const terms: { start: number; end?: number }[] = [];
  const errors: string[] = [];
  const elector = new LeaderElector({
    api,
    clock,
    ...lockRef,
    identity,
    ...timings,
    onError: (error, context) =>
      errors.push(`${context}: ${error instanceof Error ? error.message : String(error)}`),
    ...options.config,
  });
  const campaign = elector.run(async (signal) => {
    const term: { start: number; end?: number } = { start: clock.now() };
    terms.push(term);
    if (options.ignoreSignal) {
      await new Promise<never>(() => undefined);
    }
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    term.end = clock.now();
  });
  const outcome = campaign.then(
    () => 'stopped',
    (error: unknown) => error,
  );
  return { elector, terms, errors, outcome };
}

const holder = (api: FakeKubeClient): string | undefined =>
  api.object<Lease>(resources.leases, lockRef.name, lockRef.namespace)?.spec?.holderIdentity;

async function leading(clock: FakeClock, api: FakeKubeClient) {
  const a = candidate(api, clock, 'a');
  await clock.advance(0);
  expect(a.elector.isLeader).toBe(true);
  expect(holder(api)).toBe('a');
  return a;
}

describe('LeaderElector', () => {
  it('creates the lease when there is none, leads, and renews every retry period', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = await leading(clock, api);
    api.clearCalls();
    await clock.advance(10_000);
    expect(api.writes({ resource: 'leases' }).map((c) => c.verb)).toEqual(Array(5).fill('replace'));
    expect(a.elector.isLeader).toBe(true);
    a.elector.stop();
    await clock.advance(0);
    expect(await a.outcome).toBe('stopped');
  });

  // The API stops answering the leader in different ways; every time the term must end at the renew
  // deadline after the start of the last successful renewal, not when a request returns.
  it.each<{ what: string; fault: Fault }>([
    { what: 'every call hangs (a half-open connection)', fault: { hang: true, times: Infinity } },
    {
      what: 'every renewal fails',
      fault: { error: statusError(500, 'InternalError', 'etcd timeout'), times: Infinity },
    },
    {
      what: 'the renewal is slow: applied, but answered after the deadline',
      fault: { verb: 'replace', delayMs: 11_000, afterApply: true, times: Infinity },
    },
    {
      what: 'reads answer only after the deadline',
      fault: { verb: 'get', delayMs: 60_000, times: Infinity },
    },
  ])('ends the term at the renew deadline when $what', async ({ fault }) => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = await leading(clock, api);
    await clock.advance(timings.retryPeriodMs); // one more successful renewal
    const lastRenewStart = api.callsTo({ verb: 'get' }).at(-1)?.at ?? 0;
    api.inject(fault);
    await clock.advance(timings.renewDeadlineMs - 1);
    expect(a.elector.isLeader).toBe(true);
    await clock.advance(lastRenewStart + timings.renewDeadlineMs - clock.now());
    expect(a.elector.isLeader).toBe(false);
    expect(a.terms[0]?.end).toBe(lastRenewStart + timings.renewDeadlineMs);
    // Nothing of the old term is still talking to the API server.
    const end = lastRenewStart + timings.renewDeadlineMs;
    expect(api.callsTo({ resource: 'leases' }).filter((c) => c.at < end && c.outcome === 'pending')).toEqual(
      [],
    );
    a.elector.stop();
    await clock.advance(timings.leaseDurationMs);
  });

  it('keeps the term through failures shorter than the renew deadline', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = await leading(clock, api);
    api.inject({ verb: 'replace', error: statusError(500, 'InternalError', 'x'), times: 3 });
    await clock.advance(20_000);
    expect(a.elector.isLeader).toBe(true);
    expect(a.terms).toHaveLength(1);
    a.elector.stop();
    await clock.advance(0);
  });

  it('aborts a renewal still in flight at the deadline, and the answer that comes later changes nothing', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = await leading(clock, api);
    api.inject({ verb: 'replace', hang: true, times: Infinity });
    await clock.advance(timings.renewDeadlineMs);
    expect(a.elector.isLeader).toBe(false);
    const aborted = api.callsTo({ verb: 'replace' }).filter((c) => c.outcome === 'aborted');
    expect(aborted.length).toBeGreaterThan(0);
    a.elector.stop();
    await clock.advance(timings.leaseDurationMs);
  });

  it('stops leader-only work, then releases the lease on stop, so another replica takes it on its next try', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = await leading(clock, api);
    const b = candidate(api, clock, 'b');
    await clock.advance(5_000);
    expect(b.elector.isLeader).toBe(false);
    a.elector.stop();
    await clock.advance(0);
    expect(await a.outcome).toBe('stopped');
    expect(holder(api)).toBe('');
    // The release came after the term's work had stopped.
    const releaseAt = api.writes({ resource: 'leases' }).at(-1)?.at ?? -1;
    expect(a.terms[0]?.end).toBeLessThanOrEqual(releaseAt);
    await clock.advance(timings.retryPeriodMs * 1.2);
    expect(b.elector.isLeader).toBe(true);
    expect(holder(api)).toBe('b');
    b.elector.stop();
    await clock.advance(0);
  });

  it('takes a lease whose holder stopped renewing only a lease duration after it last changed', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    // Held by a replica that died without releasing; its renewTime (wall clock) is long past and ignored.
    api.seed(resources.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: lockRef,
      spec: { holderIdentity: 'dead', leaseDurationSeconds: 15, renewTime: '2020-01-01T00:00:00.000000Z' },
    });
    const firstLook = clock.now();
    const b = candidate(api, clock, 'b');
    await clock.advance(timings.leaseDurationMs - 1);
    expect(b.elector.isLeader).toBe(false);
    await clock.advance(timings.retryPeriodMs * 1.2 + 1);
    expect(b.elector.isLeader).toBe(true);
    expect(b.terms[0]?.start).toBeGreaterThanOrEqual(firstLook + timings.leaseDurationMs);
    expect(api.object<Lease>(resources.leases, 'lock', 'ns')?.spec?.leaseTransitions).toBe(1);
    b.elector.stop();
    await clock.advance(0);
  });

  it('ignores wall-clock jumps: expiry is measured on the monotonic clock', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = await leading(clock, api);
    const b = candidate(api, clock, 'b');
    await clock.advance(1_000);
    clock.jumpWall(3_600_000);
    await clock.advance(timings.retryPeriodMs * 3);
    clock.jumpWall(-7_200_000);
    await clock.advance(timings.retryPeriodMs * 3);
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    expect(b.terms).toHaveLength(0);
    a.elector.stop();
    b.elector.stop();
    await clock.advance(0);
  });

  it('never lets two replicas lead at once, whatever the faults', async () => {
    for (const fault of [
      { verb: 'replace', hang: true, times: 3 },
      { verb: 'get', delayMs: 12_000, times: 2 },
      { verb: 'replace', delayMs: 9_000, afterApply: true, times: 2 },
    ] as Fault[]) {
      const clock = new FakeClock();
      const api = new FakeKubeClient({ clock });
      const replicas = ['a', 'b', 'c'].map((id) => candidate(api, clock, id));
      for (let step = 0; step < 60; step++) {
        if (step === 5) api.inject(fault);
        await clock.advance(500);
        expect(replicas.filter((r) => r.elector.isLeader).length).toBeLessThanOrEqual(1);
      }
      // Terms never overlap, even counting the time leader-only work took to stop.
      const terms = replicas.flatMap((r) => r.terms).sort((x, y) => x.start - y.start);
      for (let i = 1; i < terms.length; i++) {
        expect(terms[i]?.start).toBeGreaterThanOrEqual(terms[i - 1]?.end ?? Infinity);
      }
      for (const r of replicas) r.elector.stop();
      await clock.advance(timings.leaseDurationMs);
    }
  });

  it('ends the term at once when another replica holds the lease', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = await leading(clock, api);
    const lease = api.object<Lease>(resources.leases, 'lock', 'ns');
    await api.replace(resources.leases, lockRef, {
      ...lease,
      spec: { ...lease?.spec, holderIdentity: 'intruder' },
    });
    await clock.advance(timings.retryPeriodMs);
    expect(a.elector.isLeader).toBe(false);
    a.elector.stop();
    await clock.advance(0);
  });

  it('rejects and campaigns no more when leader-only work does not stop before the lease could expire', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = candidate(api, clock, 'a', { ignoreSignal: true });
    await clock.advance(0);
    expect(a.elector.isLeader).toBe(true);
    api.inject({ verb: 'replace', error: statusError(500, 'InternalError', 'x'), times: Infinity });
    await clock.advance(timings.leaseDurationMs + timings.retryPeriodMs * 5);
    expect(await a.outcome).toBeInstanceOf(LeadershipOverrunError);
    expect(a.terms).toHaveLength(1);
  });

  it('starts a new term after a lost one only once the old term has stopped', async () => {
    const clock = new FakeClock();
    const api = new FakeKubeClient({ clock });
    const a = await leading(clock, api);
    api.inject({ verb: 'replace', error: statusError(500, 'InternalError', 'x'), times: 6 });
    await clock.advance(timings.renewDeadlineMs + timings.leaseDurationMs);
    expect(a.terms.length).toBe(2);
    expect(a.terms[1]?.start).toBeGreaterThanOrEqual(a.terms[0]?.end ?? Infinity);
    a.elector.stop();
    await clock.advance(0);
  });

  it('refuses timings client-go refuses', () => {
    const api = new FakeKubeClient();
    expect(
      () =>
        new LeaderElector({
          api,
          ...lockRef,
          identity: 'x',
          leaseDurationMs: 10,
          renewDeadlineMs: 10,
          retryPeriodMs: 1,
        }),
    ).toThrow(RangeError);
    expect(
      () =>
        new LeaderElector({
          api,
          ...lockRef,
          identity: 'x',
          leaseDurationMs: 15,
          renewDeadlineMs: 10,
          retryPeriodMs: 9,
        }),
    ).toThrow(RangeError);
  });
});
