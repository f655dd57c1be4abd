import type { DriverNodeStatus } from '../../drivers/driver.js';
import { evacuates } from './status-policy.js';

/** One Kubernetes node and the status of the storage node running on it (the healthiest match). */
export interface NodeObservation {
  readonly node: string;
  readonly driverNodeId: string;
  readonly status: DriverNodeStatus;
}

export interface NodeHealth extends NodeObservation {
  /** Since when (monotonic ms) the node has had this status. */
  readonly statusSince: number;
  /** Since when the node has been continuously in an evacuating status, if it is in one. */
  readonly evacuateSince?: number;
}

/**
 * Remembers each node's storage status and since when, from successive observations. A node becomes
 * due for evacuation once it has stayed in evacuating statuses for the grace period; any other status,
 * or its absence from an observation, starts that over. So a node that flaps faster than the grace
 * period is never acted on.
 */
export class NodeHealthTracker {
  private readonly nodes = new Map<string, NodeHealth>();

  constructor(private readonly graceMs: number) {
    if (!(graceMs >= 0)) throw new RangeError(`grace period must be >= 0 ms, got ${graceMs}`);
  }

  /** Records one observation of every node; returns the names of nodes whose status changed. */
  observe(observations: readonly NodeObservation[], now: number): string[] {
    const changed: string[] = [];
    const seen = new Set<string>();
    for (const o of observations) {
      seen.add(o.node);
      const previous = this.nodes.get(o.node);
      if (previous?.status === o.status && previous.driverNodeId === o.driverNodeId) continue;
      changed.push(o.node);
      const evacuateSince = evacuates(o.status)
        ? previous?.evacuateSince !== undefined
          ? previous.evacuateSince
          : now
        : undefined;
      this.nodes.set(o.node, {
        ...o,
        statusSince: now,
        ...(evacuateSince !== undefined ? { evacuateSince } : {}),
      });
    }
    for (const node of [...this.nodes.keys()]) {
      if (seen.has(node)) continue;
      this.nodes.delete(node);
      changed.push(node);
    }
    return changed;
  }

  get(node: string): NodeHealth | undefined {
    return this.nodes.get(node);
  }

  all(): NodeHealth[] {
    return [...this.nodes.values()];
  }

  /** When the node becomes due (monotonic ms), if it is in an evacuating status. */
  dueAt(node: string): number | undefined {
    const since = this.nodes.get(node)?.evacuateSince;
    return since === undefined ? undefined : since + this.graceMs;
  }
}
