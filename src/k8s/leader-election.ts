import type { Lease } from '../wire/k8s-types.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { deadlineSignal, settlesWithin, type Deadline } from '../lib/deadline.js';
import type { KubeClient } from './client.js';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { resources } from './paths.js';

export interface LeaderElectionConfig {
  readonly api: KubeClient;
  /** Durations and deadlines are measured on `clock.now()` (monotonic); default: the process's clocks. */
  readonly clock?: Clock;
  readonly namespace: string;
  readonly name: string;
  /** This replica's identity (Stork uses the hostname). */
  readonly identity: string;
  /** How long a lease is good for without renewal (client-go: 15 s). */
  readonly leaseDurationMs: number;
  /** How long the leader keeps trying to renew before its term ends (client-go: 10 s). */
  readonly renewDeadlineMs: number;
  /** How often to try to acquire or renew (client-go: 2 s). */
  readonly retryPeriodMs: number;
  readonly onError?: (error: unknown, context: string) => void;
  /** Told about terms starting and ending (for logs and metrics); must not throw. */
  readonly onTransition?: (transition: LeadershipTransition) => void;
}

export type LeadershipTransition =
  | { readonly type: 'started-leading' }
  | { readonly type: 'stopped-leading'; readonly reason: string }
  | { readonly type: 'released' };

export const clientGoTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

/**
 * Leader-only work did not stop before the lease could expire for another replica: two leaders could
 * now act at once, so the process must not go on (client-go's callers exit here too).
 */
export class LeadershipOverrunError extends Error {
  constructor(overrunMs: number) {
    super(
      `leader-only work still running ${Math.round(overrunMs)} ms after the term ended, when the lease may expire`,
    );
    this.name = 'LeadershipOverrunError';
  }
}

const micro = (ms: number): string => new Date(ms).toISOString().replace(/(\.\d{3})Z$/, '$1000Z');

/** Validates timings as client-go does (lease > renew deadline > retry period × jitter). */
export function checkLeaderElectionTimings(t: {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}): void {
  if (t.leaseDurationMs <= t.renewDeadlineMs) {
    throw new RangeError(
      `the lease duration (${t.leaseDurationMs} ms) must be longer than the renew deadline (${t.renewDeadlineMs} ms)`,
    );
  }
  if (t.renewDeadlineMs <= t.retryPeriodMs * jitterFactor) {
    throw new RangeError(
      `the renew deadline (${t.renewDeadlineMs} ms) must be longer than ${jitterFactor} × the retry period (${t.retryPeriodMs} ms)`,
    );
  }
  if (t.retryPeriodMs <= 0) throw new RangeError('the retry period must be positive');
}

/** client-go's JitterFactor: acquire attempts are spread over [retry, retry × 1.2). */
const jitterFactor = 1.2;

type Attempt =
  | { readonly outcome: 'held'; readonly sentAt: number }
  | { readonly outcome: 'not-held'; readonly otherHolder: boolean };

/**
 * Leader election on a `coordination.k8s.io/v1` Lease with client-go's guarantees:
 *
 * - another replica's lease counts as expired only a lease duration after we saw it change, on our own
 *   monotonic clock (no wall clocks compared across hosts);
 * - a term lasts until the renew deadline after the start of the last successful renewal attempt; a timer
 *   ends it then, whatever request is still in flight, and every attempt is aborted at that deadline;
 * - the term's signal (given to `lead`) aborts when the term ends, and `run` waits for `lead` to settle,
 *   bounded by the time left before the lease could expire for anyone else (the lease duration after the
 *   last successful attempt started). If it does not settle by then, `run` rejects with
 *   {@link LeadershipOverrunError} and campaigns no more: the caller must exit.
 * - updates carry the lease's resourceVersion, so two replicas can never both win a round;
 * - on `stop()`, the term ends, leader-only work is awaited, and the lease is released (holder cleared),
 *   so another replica takes over on its next retry instead of after a lease duration.
 *
 * After a term ends for any other reason this replica campaigns again; a new term calls `lead` afresh, and
 * only once the previous `lead` has settled, so nothing of an old term outlives it.
 */
export class LeaderElector {
  private readonly clock: Clock;
  private observed: { record: string; at: number } | undefined;
  private lastLease: Lease | undefined;
  private leading = false;
  private readonly stopping = new AbortController();

  constructor(private readonly config: LeaderElectionConfig) {
    checkLeaderElectionTimings(config);
    this.clock = config.clock ?? systemClock;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder of the lease as last seen ('' when free, undefined before the first look). */
  get observedHolder(): string | undefined {
    return this.lastLease ? (this.lastLease.spec?.holderIdentity ?? '') : undefined;
  }

  /**
   * Campaigns until stopped. `lead` runs while this replica leads; its signal aborts when the term ends.
   * Resolves after `stop()` (lease released); rejects with {@link LeadershipOverrunError} if `lead` does
   * not stop in time.
   */
  async run(lead: (signal: AbortSignal) => void | Promise<void>): Promise<void> {
    while (!this.stopping.signal.aborted) {
      const sentAt = await this.acquire();
      if (sentAt === undefined) break;
      if (this.stopped()) {
        // Won just as we were told to stop: lead nothing, hand the lease back.
        await this.release(sentAt + this.config.leaseDurationMs);
        break;
      }
      await this.term(sentAt, lead);
    }
  }

  /** Stops campaigning; if leading, ends the term, waits for leader-only work and releases the lease. */
  stop(): void {
    this.stopping.abort(new Error('leader election stopped'));
  }

  private stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** Tries every retry period (jittered) until the lease is ours; undefined when stopped first. */
  private async acquire(): Promise<number | undefined> {
    const { retryPeriodMs, renewDeadlineMs } = this.config;
    for (;;) {
      if (this.stopping.signal.aborted) return undefined;
      // An acquisition answered after what would be its renew deadline is of no use: bound it by that.
      const attempt = await this.attempt(renewDeadlineMs, this.stopping.signal);
      if (attempt.outcome === 'held') return attempt.sentAt;
      const wait = retryPeriodMs * (1 + Math.random() * (jitterFactor - 1));
      await this.clock.sleep(wait, this.stopping.signal).catch(() => undefined);
    }
  }

  private async term(sentAt: number, lead: (signal: AbortSignal) => void | Promise<void>): Promise<void> {
    const { renewDeadlineMs, retryPeriodMs, leaseDurationMs } = this.config;
    let lastSentAt = sentAt;
    const term = new AbortController();
    // The timer that ends the term at the renew deadline, re-armed after each successful renewal.
    let deadline: Deadline | undefined;
    const arm = (): void => {
      deadline?.dispose();
      deadline = deadlineSignal(
        this.clock,
        lastSentAt + renewDeadlineMs - this.clock.now(),
        [],
        'renew deadline',
      );
      deadline.signal.addEventListener(
        'abort',
        () =>
          term.abort(
            new Error(`could not renew the lease within the renew deadline (${renewDeadlineMs} ms)`),
          ),
        { once: true },
      );
    };
    arm();
    const onStop = (): void => term.abort(new Error('stopping'));
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    if (this.stopping.signal.aborted) onStop();

    this.leading = true;
    this.config.onTransition?.({ type: 'started-leading' });
    const work = Promise.resolve()
      .then(() => lead(term.signal))
      .catch((error: unknown) => this.config.onError?.(error, 'while leading'));

    // A call, not a property read: the flag changes while we await, which narrowing cannot see.
    const ended = (): boolean => term.signal.aborted;
    while (!ended()) {
      await this.clock.sleep(retryPeriodMs, term.signal).catch(() => undefined);
      if (ended()) break;
      const attempt = await this.attempt(lastSentAt + renewDeadlineMs - this.clock.now(), term.signal);
      if (ended()) break;
      if (attempt.outcome === 'held') {
        lastSentAt = attempt.sentAt;
        arm();
      } else if (attempt.otherHolder) {
        term.abort(new Error('another replica holds the lease'));
      }
    }
    deadline?.dispose();
    this.stopping.signal.removeEventListener('abort', onStop);
    this.leading = false;
    const reason =
      term.signal.reason instanceof Error ? term.signal.reason.message : String(term.signal.reason);
    this.config.onTransition?.({ type: 'stopped-leading', reason });

    // Others may take the lease a lease duration after our last successful attempt started, at the
    // earliest: leader-only work must have stopped by then.
    const leaseEnd = lastSentAt + leaseDurationMs;
    if (!(await settlesWithin(this.clock, leaseEnd - this.clock.now(), work))) {
      const error = new LeadershipOverrunError(this.clock.now() - (lastSentAt + renewDeadlineMs));
      this.config.onError?.(error, 'leadership lost');
      this.stopping.abort(error);
      throw error;
    }
    if (this.stopping.signal.aborted) await this.release(leaseEnd);
  }

  /** One get + create/replace round, aborted after `budgetMs` or by `signal`. */
  private async attempt(budgetMs: number, signal: AbortSignal): Promise<Attempt> {
    const bound = deadlineSignal(this.clock, budgetMs, [signal], 'lease request deadline');
    try {
      return await this.tryAcquireOrRenew(bound.signal);
    } catch (error) {
      // A conflict means another replica wrote first: it holds the lease this round.
      if (!isConflict(error) && !isAlreadyExists(error) && !signal.aborted) {
        this.config.onError?.(error, 'leader election');
      }
      return { outcome: 'not-held', otherHolder: false };
    } finally {
      bound.dispose();
    }
  }

  private async tryAcquireOrRenew(signal: AbortSignal): Promise<Attempt> {
    const { api, namespace, name, identity, leaseDurationMs } = this.config;
    const sentAt = this.clock.now();
    const wall = this.clock.wallNow();
    const spec = (previous?: Lease['spec']): NonNullable<Lease['spec']> => {
      const same = previous?.holderIdentity === identity;
      return {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        acquireTime: same && previous.acquireTime ? previous.acquireTime : micro(wall),
        renewTime: micro(wall),
        leaseTransitions: (previous?.leaseTransitions ?? 0) + (same || !previous?.holderIdentity ? 0 : 1),
      };
    };
    let lease: Lease;
    try {
      lease = await api.get<Lease>(resources.leases, { namespace, name }, { signal });
    } catch (error) {
      if (!isNotFound(error)) throw error;
      const created = await api.create<Lease>(
        resources.leases,
        { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: spec() },
        namespace,
        { signal },
      );
      this.observe(created, sentAt);
      return { outcome: 'held', sentAt };
    }
    this.observe(lease, this.clock.now());
    const holder = lease.spec?.holderIdentity ?? '';
    const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
    const observedAt = this.observed?.at ?? this.clock.now();
    if (holder && holder !== identity && this.clock.now() < observedAt + duration) {
      return { outcome: 'not-held', otherHolder: true };
    }
    const updated = await api.replace<Lease>(
      resources.leases,
      { namespace, name },
      { ...lease, spec: spec(lease.spec) },
      { signal },
    );
    this.observe(updated, sentAt);
    return { outcome: 'held', sentAt };
  }

  /** Remembers the lease; its record's "age" restarts whenever the record changes. */
  private observe(lease: Lease, at: number): void {
    this.lastLease = lease;
    const record = JSON.stringify(lease.spec ?? {});
    if (this.observed?.record !== record) this.observed = { record, at };
  }

  /** Clears the holder (client-go's ReleaseOnCancel), bounded by the lease's end; a conflict means it is not ours. */
  private async release(leaseEnd: number): Promise<void> {
    const lease = this.lastLease;
    if (lease?.spec?.holderIdentity !== this.config.identity) return;
    const { api, namespace, name } = this.config;
    const bound = deadlineSignal(
      this.clock,
      Math.min(leaseEnd - this.clock.now(), this.config.retryPeriodMs * 2),
      [],
      'lease release deadline',
    );
    try {
      const wall = micro(this.clock.wallNow());
      const released = await api.replace<Lease>(
        resources.leases,
        { namespace, name },
        {
          ...lease,
          spec: {
            ...lease.spec,
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: wall,
            acquireTime: wall,
          },
        },
        { signal: bound.signal },
      );
      this.lastLease = released;
      this.config.onTransition?.({ type: 'released' });
    } catch (error) {
      if (!isConflict(error)) this.config.onError?.(error, 'releasing the lease');
    } finally {
      bound.dispose();
    }
  }
}
