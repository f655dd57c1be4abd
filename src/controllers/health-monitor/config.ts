/** How the health monitor behaves; every duration in milliseconds. */
export interface HealthMonitorConfig {
  /**
   * How often every node is looked at again even without an event (default 10 s): a safety net. The
   * monitor reacts to storage status changes as the driver cache sees them, and to its own deadlines
   * (grace expiry, rate limit, backoff); Stork instead polls the driver every 120 s.
   */
  readonly intervalMs: number;
  /**
   * How long a node must stay Offline (or Initializing) before its pods are moved, and how long the
   * circuit breaker's cause must be gone before it closes (default 150 s). Long enough to ride out a
   * storage driver restart: Stork itself gives a failed node about 150 s to come back (it re-inspects it
   * with a backoff of 10 s doubling over 5 tries, 10 + 20 + 40 + 80 s) before it moves pods.
   */
  readonly graceMs: number;
  /** Pods evicted at most per batch interval, across all nodes (Stork's reference: 5 per 30 s). */
  readonly batchSize: number;
  readonly batchIntervalMs: number;
  /**
   * On a node the API server reports NotReady, a pod still terminating this long after its eviction is
   * force-deleted, and the driver's VolumeAttachments of that pod's volumes on the node removed (120 s).
   */
  readonly forceDeleteAfterMs: number;
  /** First retry of an eviction a PodDisruptionBudget blocked; doubles up to `maxBlockedRetryMs`. */
  readonly blockedRetryMs: number;
  readonly maxBlockedRetryMs: number;
  /**
   * The circuit breaker opens (nothing is evicted) when more storage nodes than this are unhealthy at
   * once (default 1: a single node failure passes, two at once look like a rack, a network partition or
   * a rolling upgrade)...
   */
  readonly maxUnhealthyNodes: number;
  /** ...or more than this percentage of them (default 34: one node of three passes). */
  readonly maxUnhealthyPercent: number;
}

export const defaultHealthMonitorConfig: HealthMonitorConfig = {
  intervalMs: 10_000,
  graceMs: 150_000,
  batchSize: 5,
  batchIntervalMs: 30_000,
  forceDeleteAfterMs: 120_000,
  blockedRetryMs: 5_000,
  maxBlockedRetryMs: 300_000,
  maxUnhealthyNodes: 1,
  maxUnhealthyPercent: 34,
};
