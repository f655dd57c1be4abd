import type { HealthStatusDocument, HealthStatusNode } from '../../drivers/health-status-document.js';
import type { Clock } from '../../lib/clock.js';
import type { HealthMonitorConfig } from './config.js';
import type { HealthReconciler } from './reconciler.js';
import { countsAsUnhealthy, evacuates } from './status-policy.js';

/** The published state of the monitor, with monotonic deadlines turned into wall-clock times. */
export function healthStatusDocument(
  reconciler: HealthReconciler,
  options: { readonly clock: Clock; readonly config: HealthMonitorConfig; readonly replica: string },
): HealthStatusDocument {
  const { clock, config } = options;
  const now = clock.now();
  const wall = clock.wallNow();
  const iso = (monotonic: number): string => new Date(wall + (monotonic - now)).toISOString();
  const breaker = reconciler.breakerState;
  const view = reconciler.view;
  const nodes: HealthStatusNode[] = reconciler.tracker
    .all()
    .filter((n) => countsAsUnhealthy(n.status))
    .map((n) => {
      const dueAt = reconciler.tracker.dueAt(n.node);
      const action: HealthStatusNode['action'] = !evacuates(n.status)
        ? 'never'
        : dueAt !== undefined && dueAt > now
          ? 'waiting'
          : breaker.state === 'Closed'
            ? 'draining'
            : 'held';
      return {
        name: n.node,
        status: n.status,
        since: iso(n.statusSince),
        action,
        ...(action === 'waiting' && dueAt !== undefined ? { dueAt: iso(dueAt) } : {}),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  return {
    time: new Date(wall).toISOString(),
    replica: options.replica,
    breaker: {
      state: breaker.state,
      ...(breaker.reason ? { reason: breaker.reason } : {}),
      ...(breaker.message ? { message: breaker.message } : {}),
      ...(breaker.openedAt !== undefined ? { openedAt: iso(breaker.openedAt) } : {}),
      ...(breaker.closesAt !== undefined ? { closesAt: iso(breaker.closesAt) } : {}),
    },
    limits: {
      maxUnhealthyNodes: config.maxUnhealthyNodes,
      maxUnhealthyPercent: config.maxUnhealthyPercent,
      graceSeconds: Math.round(config.graceMs / 1000),
    },
    storageNodes: view?.breaker.storageNodes ?? 0,
    unhealthyNodes: view?.breaker.unhealthyNodes ?? 0,
    quorumLost: view?.breaker.quorumLost ?? false,
    ...(view?.breaker.untrustworthy !== undefined ? { untrustworthy: view.breaker.untrustworthy } : {}),
    nodes,
  };
}
