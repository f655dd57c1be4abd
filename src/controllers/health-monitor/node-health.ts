import type { DriverNodeStatus } from '../../drivers/driver.js';

/** One Kubernetes node and the status of the storage node running on it (the healthiest match). */
export interface NodeObservation {
  readonly node: string;
  readonly driverNodeId: string;
  readonly status: DriverNodeStatus;
}

/** Offline and Degraded nodes lose their pods; a StorageDown node's volumes stay reachable, so not it. */
export function needsEvacuation(status: DriverNodeStatus): boolean {
  return status === 'Offline' || status === 'Degraded';
}

/**
 * Remembers since when each node has been continuously unhealthy, from successive observations. A node
 * becomes due once that lasts the grace period; any healthy observation, or its absence from an
 * observation, starts it over. So a node that flaps is never acted on, and a stale or duplicate storage
 * entry (already resolved to the healthiest match per node) cannot make a node due.
 */
export class NodeHealthTracker {
  private readonly unhealthySince = new Map<string, { since: number; status: DriverNodeStatus }>();

  constructor(private readonly graceMs: number) {
    if (!(graceMs >= 0)) throw new RangeError(`grace period must be >= 0 ms, got ${graceMs}`);
  }

  /** Records one round of observations; returns the nodes due for evacuation now. */
  observe(observations: readonly NodeObservation[], now: number): (NodeObservation & { since: number })[] {
    const seen = new Set<string>();
    const due: (NodeObservation & { since: number })[] = [];
    for (const o of observations) {
      seen.add(o.node);
      if (!needsEvacuation(o.status)) {
        this.unhealthySince.delete(o.node);
        continue;
      }
      const entry = this.unhealthySince.get(o.node) ?? { since: now, status: o.status };
      this.unhealthySince.set(o.node, { since: entry.since, status: o.status });
      if (now - entry.since >= this.graceMs) due.push({ ...o, since: entry.since });
    }
    for (const node of [...this.unhealthySince.keys()]) if (!seen.has(node)) this.unhealthySince.delete(node);
    return due;
  }

  /** Nodes currently unhealthy (due or still within the grace period). */
  get unhealthyCount(): number {
    return this.unhealthySince.size;
  }
}
