import type { DriverNodeStatus } from '../../drivers/driver.js';

/**
 * What the health monitor does with each storage node status:
 * - `evacuate`: after the node stayed in it (or another evacuating status) for the grace period, its pods
 *   with the driver's volumes are evicted;
 * - `never`: its pods are never moved because of it (the extender still keeps new pods off every status
 *   but Online and StorageDown).
 *
 * Only statuses listed as `evacuate` move pods. A status added later (a driver reporting something newer
 * than stork) arrives as `Unknown` and never moves pods: acting on what we do not understand is a guess.
 */
export const statusPolicy: Readonly<Record<DriverNodeStatus, 'evacuate' | 'never'>> = {
  // Healthy.
  Online: 'never',
  // The node's own disks are down, but its volumes are served from replicas over the network.
  StorageDown: 'never',
  // Serving I/O, impaired (rebalance, drive replacement): moving pods would only add a disruption.
  Degraded: 'never',
  // Not serving: the pods there cannot reach their data.
  Offline: 'evacuate',
  // Still starting: a restart passes through here; past the grace period it is as good as Offline.
  Initializing: 'evacuate',
  // Entered by an operator for planned work (also rolling upgrades, node by node): the operator decides
  // whether to drain (`kubectl drain`, which honours budgets); Stork evicts here.
  Maintenance: 'never',
  // The storage system answering has no quorum: no node can serve I/O, moving pods cannot help. It also
  // opens the circuit breaker.
  NotInQuorum: 'never',
  // Anything stork does not know.
  Unknown: 'never',
};

export function evacuates(status: DriverNodeStatus): boolean {
  return statusPolicy[status] === 'evacuate';
}

/** Whether a node counts towards the circuit breaker's unhealthy nodes: anything but Online. */
export function countsAsUnhealthy(status: DriverNodeStatus): boolean {
  return status !== 'Online';
}
