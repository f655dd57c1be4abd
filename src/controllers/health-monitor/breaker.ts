/** What the circuit breaker judges, one look at the storage system. */
export interface BreakerInput {
  /** Kubernetes nodes that run a storage node. */
  readonly storageNodes: number;
  /** Of those, how many are not Online. */
  readonly unhealthyNodes: number;
  /** The storage system reports it has no quorum. */
  readonly quorumLost: boolean;
  /** Why the storage view cannot be trusted now (stale, served by an unhealthy node), if it cannot. */
  readonly untrustworthy?: string | undefined;
}

export interface BreakerSettings {
  /** More unhealthy nodes than this at once opens the breaker. */
  readonly maxUnhealthyNodes: number;
  /** More than this percentage of the storage nodes unhealthy at once opens the breaker. */
  readonly maxUnhealthyPercent: number;
  /** How long the cause must have been gone before the breaker closes again. */
  readonly graceMs: number;
}

export type BreakerReason = 'too-many-unhealthy' | 'quorum-lost' | 'untrustworthy-view';

/** The breaker's state: `Closed` (evictions allowed), `Open`, or `Closing` (open, cause gone, waiting). */
export interface BreakerState {
  readonly state: 'Closed' | 'Open' | 'Closing';
  readonly reason?: BreakerReason;
  /** Why, in words, with the counts. */
  readonly message?: string;
  /** When it opened (monotonic ms). */
  readonly openedAt?: number;
  /** When it closes if nothing changes (monotonic ms), in `Closing`. */
  readonly closesAt?: number;
}

export interface BreakerTransition {
  readonly state: BreakerState;
  /** Set when this evaluation opened or closed the breaker. */
  readonly changed?: 'opened' | 'closed';
}

/** The trip reason for one input, or undefined if it is fine. */
export function tripReason(
  input: BreakerInput,
  settings: Pick<BreakerSettings, 'maxUnhealthyNodes' | 'maxUnhealthyPercent'>,
): { reason: BreakerReason; message: string } | undefined {
  if (input.untrustworthy !== undefined)
    return {
      reason: 'untrustworthy-view',
      message: `the storage view cannot be trusted: ${input.untrustworthy}`,
    };
  if (input.quorumLost)
    return { reason: 'quorum-lost', message: 'the storage system reports it has lost quorum' };
  const { unhealthyNodes: bad, storageNodes: total } = input;
  const percent = total === 0 ? 0 : (bad * 100) / total;
  if (bad > settings.maxUnhealthyNodes || percent > settings.maxUnhealthyPercent) {
    return {
      reason: 'too-many-unhealthy',
      message:
        `${bad} of ${total} storage nodes are unhealthy at once (${Math.round(percent)}%), more than the ` +
        `limit of ${settings.maxUnhealthyNodes} nodes or ${settings.maxUnhealthyPercent}%`,
    };
  }
  return undefined;
}

/**
 * Stops all evictions while the storage system as a whole looks wrong: many nodes unhealthy at once (a
 * rack, a network partition, a rolling upgrade), lost quorum, or a view of it stork cannot trust. Then
 * moving pods cannot help and may make things worse (Kubernetes' node lifecycle controller stops evicting
 * for the same reason when a zone is fully disrupted). It closes by itself once the cause has been gone
 * for the grace period, so a cluster that recovers in waves is not drained between two waves.
 */
export class CircuitBreaker {
  private current: BreakerState = { state: 'Closed' };

  constructor(private readonly settings: BreakerSettings) {
    if (!Number.isInteger(settings.maxUnhealthyNodes) || settings.maxUnhealthyNodes < 0)
      throw new RangeError(`max unhealthy nodes must be an integer >= 0, got ${settings.maxUnhealthyNodes}`);
    if (!(settings.maxUnhealthyPercent >= 0 && settings.maxUnhealthyPercent <= 100))
      throw new RangeError(`max unhealthy percent must be 0..100, got ${settings.maxUnhealthyPercent}`);
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Whether evictions are allowed now (as of the last evaluation). */
  get closed(): boolean {
    return this.current.state === 'Closed';
  }

  evaluate(input: BreakerInput, now: number): BreakerTransition {
    const trip = tripReason(input, this.settings);
    const was = this.current;
    if (trip) {
      this.current = {
        state: 'Open',
        reason: trip.reason,
        message: trip.message,
        openedAt: was.state === 'Closed' ? now : (was.openedAt ?? now),
      };
      return was.state === 'Closed' ? { state: this.current, changed: 'opened' } : { state: this.current };
    }
    if (was.state === 'Closed') return { state: was };
    const closesAt = was.state === 'Closing' ? (was.closesAt ?? now) : now + this.settings.graceMs;
    if (now >= closesAt) {
      this.current = { state: 'Closed' };
      return { state: this.current, changed: 'closed' };
    }
    this.current = { ...was, state: 'Closing', closesAt };
    return { state: this.current };
  }
}
