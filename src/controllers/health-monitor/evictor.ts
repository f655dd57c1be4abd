import type { Pod } from '../../wire/k8s-types.js';
import type { KubeClient } from '../../k8s/client.js';
import { evictPod } from '../../k8s/eviction.js';
import type { Clock } from '../../lib/clock.js';
import { SlidingWindowLimiter } from './rate-limiter.js';

export interface EvictorLimits {
  /** Evictions at most per `batchIntervalMs`, across every node (a sliding window). */
  readonly batchSize: number;
  readonly batchIntervalMs: number;
  /** First retry of an eviction a PodDisruptionBudget refused; doubles per refusal up to `maxBlockedRetryMs`. */
  readonly blockedRetryMs: number;
  readonly maxBlockedRetryMs: number;
  /** How long an evicted pod is not evicted again (it is terminating; the cache may lag). */
  readonly rememberEvictedMs: number;
}

export type EvictOutcome =
  | { readonly outcome: 'evicted' }
  /** The pod is gone (or is another pod by now): nothing to do. */
  | { readonly outcome: 'gone' }
  /** Evicted a moment ago; the cache has not seen it terminating yet. Not evicted twice. */
  | { readonly outcome: 'already-evicted' }
  /** A PodDisruptionBudget refused; this pod is not tried again before `retryInMs`. */
  | { readonly outcome: 'blocked'; readonly reason: string; readonly retryInMs: number }
  /** The pod is backing off after an earlier refusal; not tried. */
  | { readonly outcome: 'backing-off'; readonly retryInMs: number }
  /** The global rate limit is used up; nothing may be evicted for `retryInMs`. */
  | { readonly outcome: 'rate-limited'; readonly retryInMs: number };

function podUid(pod: Pod): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/**
 * The one place pods leave through, shared by every node's reconciler (descheduler's PodEvictor is the
 * model): the Eviction API, so PodDisruptionBudgets hold; a global sliding-window rate limit, so several
 * nodes failing at once do not multiply the rate; and a per-pod backoff after a refusal, so one blocked
 * pod does not hold up the rest of its node nor make the monitor hammer the API server.
 */
export class Evictor {
  private readonly limiter: SlidingWindowLimiter;
  private readonly backoff = new Map<string, { retryAt: number; delayMs: number }>();
  /** Pods evicted recently (uid → when), so a cache that lags does not make us evict them again. */
  private readonly evicted = new Map<string, number>();

  constructor(
    private readonly client: KubeClient,
    private readonly clock: Clock,
    private readonly limits: EvictorLimits,
  ) {
    this.limiter = new SlidingWindowLimiter(limits.batchSize, limits.batchIntervalMs, clock);
    if (!(limits.blockedRetryMs > 0))
      throw new RangeError(`blocked retry must be > 0 ms, got ${limits.blockedRetryMs}`);
  }

  /** How long until this pod may be tried again after a refusal (0: now). */
  backoffMs(pod: Pod): number {
    const entry = this.backoff.get(podUid(pod));
    return entry ? Math.max(0, entry.retryAt - this.clock.now()) : 0;
  }

  /** How long until the rate limit allows another eviction (0: now). */
  rateLimitMs(): number {
    return this.limiter.waitMs();
  }

  async evict(pod: Pod, signal?: AbortSignal): Promise<EvictOutcome> {
    const uid = podUid(pod);
    const evictedAt = this.evicted.get(uid);
    if (evictedAt !== undefined && this.clock.now() - evictedAt < this.limits.rememberEvictedMs)
      return { outcome: 'already-evicted' };
    const wait = this.backoffMs(pod);
    if (wait > 0) return { outcome: 'backing-off', retryInMs: wait };
    const slot = this.limiter.tryTake();
    if (!('release' in slot)) return { outcome: 'rate-limited', retryInMs: slot.waitMs };
    let result;
    try {
      result = await evictPod(this.client, pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '', {
        ...(signal ? { signal } : {}),
        ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}),
      });
    } catch (error) {
      slot.release();
      throw error;
    }
    this.forgetOld();
    if (result.outcome === 'evicted') {
      this.backoff.delete(uid);
      this.evicted.set(uid, this.clock.now());
      return result;
    }
    // A refusal or a vanished pod disrupted nothing: it does not count against the rate.
    slot.release();
    if (result.outcome === 'gone') {
      this.backoff.delete(uid);
      return result;
    }
    const previous = this.backoff.get(uid);
    const delayMs = previous
      ? Math.min(previous.delayMs * 2, this.limits.maxBlockedRetryMs)
      : this.limits.blockedRetryMs;
    this.backoff.set(uid, { retryAt: this.clock.now() + delayMs, delayMs });
    return { outcome: 'blocked', reason: result.reason, retryInMs: delayMs };
  }

  /** Drops backoff entries long expired (pods that left by themselves), so the map stays small. */
  private forgetOld(): void {
    const now = this.clock.now();
    for (const [uid, at] of this.evicted)
      if (now - at >= this.limits.rememberEvictedMs) this.evicted.delete(uid);
    if (this.backoff.size < 1000) return;
    for (const [uid, entry] of this.backoff) {
      if (now - entry.retryAt > this.limits.maxBlockedRetryMs) this.backoff.delete(uid);
    }
  }
}
