import { setTimeout as sleep } from 'node:timers/promises';
import type { Lease } from 'kubernetes-types/coordination/v1.js';
import type { KubeApi } from './api.js';
import { isAlreadyExists, isConflict, isNotFound } from './errors.js';
import { resources } from './paths.js';

export interface LeaderElectionConfig {
  readonly api: KubeApi;
  readonly namespace: string;
  readonly name: string;
  /** This replica's identity (Stork uses the hostname). */
  readonly identity: string;
  /** How long a lease is good for without renewal (client-go: 15 s). */
  readonly leaseDurationMs: number;
  /** How long the leader keeps trying to renew before it gives up leadership (client-go: 10 s). */
  readonly renewDeadlineMs: number;
  /** How often to try to acquire or renew (client-go: 2 s). */
  readonly retryPeriodMs: number;
  readonly onError?: (error: unknown, context: string) => void;
}

export const clientGoTimings = {
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
} as const;

const micro = (ms: number): string => new Date(ms).toISOString().replace(/(\.\d{3})Z$/, '$1000Z');

/**
 * Leader election on a `coordination.k8s.io/v1` Lease, as client-go does it: a replica takes the lease
 * when it is free or its holder has not renewed it for a lease duration (measured on our own clock,
 * from when we last saw it change, so clock skew between replicas does not matter), renews it every
 * retry period, and gives leadership up if it could not renew within the renew deadline. Updates use the
 * lease's resourceVersion, so two replicas can never both win.
 */
export class LeaderElector {
  private observed: { record: string; at: number } | undefined;
  private leading = false;
  private readonly controller = new AbortController();

  constructor(private readonly config: LeaderElectionConfig) {
    if (config.renewDeadlineMs >= config.leaseDurationMs) {
      throw new RangeError('the renew deadline must be shorter than the lease duration');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until stopped. `lead` runs while this replica leads and gets a signal that aborts the
   * moment leadership is lost; campaigning resumes afterwards.
   */
  async run(lead: (signal: AbortSignal) => void | Promise<void>): Promise<void> {
    const stopped = (): boolean => this.controller.signal.aborted;
    while (!stopped()) {
      if (!(await this.tryAcquireOrRenew())) {
        await this.pause();
        continue;
      }
      this.leading = true;
      const term = new AbortController();
      const leadership = Promise.resolve(lead(term.signal)).catch((error: unknown) => {
        this.config.onError?.(error, 'while leading');
      });
      let lastRenew = Date.now();
      while (!stopped()) {
        await this.pause();
        if (stopped()) break;
        if (await this.tryAcquireOrRenew()) {
          lastRenew = Date.now();
        } else if (Date.now() - lastRenew >= this.config.renewDeadlineMs) {
          this.config.onError?.(new Error('could not renew the lease in time'), 'leadership lost');
          break;
        }
      }
      this.leading = false;
      term.abort();
      await leadership;
      if (stopped()) await this.release();
    }
  }

  /** Stops campaigning; if leading, stops leading and releases the lease so another replica takes over at once. */
  stop(): void {
    this.controller.abort();
  }

  private async pause(): Promise<void> {
    await sleep(this.config.retryPeriodMs, undefined, { signal: this.controller.signal }).catch(
      () => undefined,
    );
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { api, namespace, name, identity, leaseDurationMs } = this.config;
    const now = Date.now();
    const spec = (previous?: Lease['spec']): NonNullable<Lease['spec']> => {
      const same = previous?.holderIdentity === identity;
      return {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        acquireTime: same && previous.acquireTime ? previous.acquireTime : micro(now),
        renewTime: micro(now),
        leaseTransitions: (previous?.leaseTransitions ?? 0) + (same || !previous?.holderIdentity ? 0 : 1),
      };
    };
    try {
      let lease: Lease;
      try {
        lease = await api.get<Lease>(resources.leases, { namespace, name });
      } catch (error) {
        if (!isNotFound(error)) throw error;
        await api.create<Lease>(
          resources.leases,
          {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name, namespace },
            spec: spec(),
          },
          namespace,
        );
        return true;
      }
      const record = JSON.stringify(lease.spec ?? {});
      if (this.observed?.record !== record) this.observed = { record, at: now };
      const holder = lease.spec?.holderIdentity ?? '';
      const duration = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
      if (holder && holder !== identity && now < this.observed.at + duration) return false;
      const updated = await api.replace<Lease>(
        resources.leases,
        { namespace, name },
        { ...lease, spec: spec(lease.spec) },
      );
      this.observed = { record: JSON.stringify(updated.spec ?? {}), at: now };
      return true;
    } catch (error) {
      // A conflict means another replica wrote first: it holds the lease this round.
      if (!isConflict(error) && !isAlreadyExists(error)) this.config.onError?.(error, 'leader election');
      return false;
    }
  }

  private async release(): Promise<void> {
    const { api, namespace, name, identity } = this.config;
    try {
      const lease = await api.get<Lease>(resources.leases, { namespace, name });
      if (lease.spec?.holderIdentity !== identity) return;
      await api.replace<Lease>(
        resources.leases,
        { namespace, name },
        {
          ...lease,
          spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: micro(Date.now()) },
        },
      );
    } catch (error) {
      this.config.onError?.(error, 'releasing the lease');
    }
  }
}
