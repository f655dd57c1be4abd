/** How the health monitor behaves; every duration in milliseconds. */
export interface HealthMonitorConfig {
  /**
   * How often storage node health is checked (default 10 s). It reads the driver cache, refreshed every
   * few seconds in the background, so a short interval costs nothing; Stork polls the driver every 120 s.
   */
  readonly intervalMs: number;
  /**
   * How long a node must stay Offline or Degraded before its pods are moved (default 60 s): long enough
   * to ride out a storage driver restart, far shorter than Stork's 120 s poll plus 150 s re-check.
   */
  readonly graceMs: number;
  /** Pods evicted at most per batch interval, across all nodes (Stork's reference: 5 per 30 s). */
  readonly batchSize: number;
  readonly batchIntervalMs: number;
  /**
   * On a node that Kubernetes also sees NotReady, a pod still terminating this long after its eviction
   * is force-deleted, and the driver's VolumeAttachments for the node removed (default 120 s).
   */
  readonly forceDeleteAfterMs: number;
  /** First retry of an eviction a PodDisruptionBudget blocked; doubles up to 5 minutes (default 5 s). */
  readonly blockedRetryMs: number;
}

export const defaultHealthMonitorConfig: HealthMonitorConfig = {
  intervalMs: 10_000,
  graceMs: 60_000,
  batchSize: 5,
  batchIntervalMs: 30_000,
  forceDeleteAfterMs: 120_000,
  blockedRetryMs: 5_000,
};
