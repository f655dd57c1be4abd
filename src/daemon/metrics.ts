import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkQueueObserver } from '../lib/work-queue.js';
import type { HealthMonitorMetrics } from '../controllers/health-monitor/monitor.js';
import type { Placement, PodPlacement } from '../extender/placement-report.js';
import type { InformerStatus } from '../k8s/informer.js';

/** Stork's Prometheus metrics, in one registry per running stork (so tests can run several). */
export interface StorkMetrics {
  readonly registry: Registry;
  readonly extenderRequestSeconds: Histogram<'verb' | 'code'>;
  readonly healthMonitor: HealthMonitorMetrics;
  readonly webhookRequestSeconds: Histogram<'code'>;
  /** Admission requests by outcome (patched, skipped, error) and reason. */
  readonly webhookAdmissions: Counter<'outcome' | 'reason'>;
  /** When the webhook's serving certificate expires (Unix seconds). */
  readonly webhookCertificateExpiry: Gauge;
  /** The metrics of one controller work queue, labelled with its name. */
  workQueue(name: string): WorkQueueObserver;
}

/** What the gauges computed at scrape time read. */
export interface MetricSources {
  /** Export the Node.js process metrics too (off in tests, where several storks share a process). */
  readonly processMetrics?: boolean;
  /** Pod placements for the hyper-convergence gauges. */
  readonly placements?: () => readonly PodPlacement[];
  /** The informers' health. */
  readonly informers?: () => readonly InformerStatus[];
  /** Whether this replica leads now, and the Lease's name. */
  readonly leadership?: { readonly name: string; readonly isLeader: () => boolean };
}

/** Stork's metrics, with Stork's meaning (PodPlacement.storkPlacement; Ready pods only, as Stork). */
const storkPlacementGauges: Record<Placement, { name: string; help: string }> = {
  hyperconverged: {
    name: 'stork_hyperconverged_pods_total',
    help: "Ready pods whose node holds as many of their volumes' replicas as any node does (1 per pod; Stork's meaning).",
  },
  'semi-hyperconverged': {
    name: 'stork_semi_hyperconverged_pods_total',
    help: "Ready pods whose node holds some of their volumes' replicas, but fewer than another node (1 per pod; Stork's meaning).",
  },
  'non-hyperconverged': {
    name: 'stork_non_hyperconverged_pods_total',
    help: "Ready pods whose node holds none of their volumes' replicas (1 per pod; Stork's meaning).",
  },
};

export function createMetrics(options: MetricSources = {}): StorkMetrics {
  const registry = new Registry();
  if (options.processMetrics) collectDefaultMetrics({ register: registry });
  const extenderRequestSeconds = new Histogram({
    name: 'stork_extender_request_duration_seconds',
    help: 'Time to answer a scheduler extender request, by verb and HTTP status code.',
    labelNames: ['verb', 'code'] as const,
    // The extender answers from memory: sub-millisecond to tens of milliseconds at 5,000 full Nodes.
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const rescheduled = new Counter({
    name: 'stork_pods_rescheduled_total',
    help: 'Pods evicted from nodes whose storage driver failed, so that they run elsewhere.',
    registers: [registry],
  });
  const blocked = new Counter({
    name: 'stork_health_monitor_evictions_blocked_total',
    help: 'Evictions refused because of a PodDisruptionBudget (each is retried with backoff).',
    registers: [registry],
  });
  const forceDeleted = new Counter({
    name: 'stork_health_monitor_force_deleted_pods_total',
    help: 'Pods force-deleted while stuck terminating on a NotReady node whose storage driver failed.',
    registers: [registry],
  });
  const unhealthy = new Gauge({
    name: 'stork_health_monitor_unhealthy_nodes',
    help: 'Storage nodes (on Kubernetes nodes) whose status is not Online now, as the circuit breaker counts them.',
    registers: [registry],
  });
  const breakerOpen = new Gauge({
    name: 'stork_health_monitor_circuit_breaker_open',
    help: 'Whether the health monitor evicts nothing now (1: its circuit breaker is open or closing), else 0.',
    registers: [registry],
  });
  const breakerTrips = new Counter({
    name: 'stork_health_monitor_circuit_breaker_trips_total',
    help: 'Times the health monitor circuit breaker opened, by reason (too-many-unhealthy, quorum-lost, untrustworthy-view).',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const healthMonitor: HealthMonitorMetrics = {
    circuitBreakerOpen: (open) => breakerOpen.set(open ? 1 : 0),
    circuitBreakerTripped: (reason) => breakerTrips.inc({ reason }),
    podRescheduled: () => rescheduled.inc(),
    evictionBlocked: () => blocked.inc(),
    podForceDeleted: () => forceDeleted.inc(),
    unhealthyNodes: (count) => unhealthy.set(count),
  };
  const webhookRequestSeconds = new Histogram({
    name: 'stork_webhook_request_duration_seconds',
    help: 'Time to answer an admission request, by HTTP status code.',
    labelNames: ['code'] as const,
    // Answered from the caches; a pod whose claim is not cached yet waits up to 2 s for it.
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const webhookAdmissions = new Counter({
    name: 'stork_webhook_admissions_total',
    help: 'Admission requests answered: outcome patched (scheduler set), skipped (with the reason) or error.',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  const webhookCertificateExpiry = new Gauge({
    name: 'stork_webhook_certificate_expiry_timestamp_seconds',
    help: "When the webhook's serving certificate expires (it is renewed well before).",
    registers: [registry],
  });
  // Controller work queues, after client-go's workqueue metrics.
  const queueDepth = new Gauge({
    name: 'stork_workqueue_depth',
    help: 'Keys waiting, delayed for a retry or in progress in a controller work queue.',
    labelNames: ['name'] as const,
    registers: [registry],
  });
  const queueAdds = new Counter({
    name: 'stork_workqueue_adds_total',
    help: 'Keys queued in a controller work queue (repeated adds of a waiting key count once).',
    labelNames: ['name'] as const,
    registers: [registry],
  });
  const queueRetries = new Counter({
    name: 'stork_workqueue_retries_total',
    help: 'Keys whose processing failed and was scheduled again with backoff.',
    labelNames: ['name'] as const,
    registers: [registry],
  });
  const queueWork = new Histogram({
    name: 'stork_workqueue_work_duration_seconds',
    help: 'Time to process one key, by outcome (done, requeued to wait for something, failed).',
    labelNames: ['name', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [registry],
  });
  const metrics: StorkMetrics = {
    registry,
    extenderRequestSeconds,
    healthMonitor,
    webhookRequestSeconds,
    webhookAdmissions,
    webhookCertificateExpiry,
    workQueue: (name) => ({
      added: () => queueAdds.inc({ name }),
      processed: (seconds, outcome) => queueWork.observe({ name, outcome }, seconds),
      retried: () => queueRetries.inc({ name }),
      depth: (keys) => queueDepth.set({ name }, keys),
    }),
  };
  new Gauge({
    name: 'stork_informer_synced',
    help: 'Whether the informer cache of a resource holds a full list (1) or not yet (0).',
    labelNames: ['resource'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const i of options.informers?.() ?? []) this.set({ resource: i.resource }, i.synced ? 1 : 0);
    },
  });
  new Gauge({
    name: 'stork_informer_last_sync_timestamp_seconds',
    help: 'When the informer of a resource last heard from the API server successfully (a list or a watch event), Unix seconds.',
    labelNames: ['resource'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const i of options.informers?.() ?? []) {
        if (i.lastSyncAt !== undefined) this.set({ resource: i.resource }, i.lastSyncAt / 1000);
      }
    },
  });
  new Counter({
    name: 'stork_informer_errors_total',
    help: 'Failed lists and watches of the informer of a resource (each is retried with backoff).',
    labelNames: ['resource'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const i of options.informers?.() ?? []) this.inc({ resource: i.resource }, i.errors);
    },
  });
  new Counter({
    name: 'stork_informer_relists_total',
    help: 'Full lists made by the informer of a resource (the first, after 410 Gone, and the periodic safety net).',
    labelNames: ['resource'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const i of options.informers?.() ?? []) this.inc({ resource: i.resource }, i.relists);
    },
  });
  new Gauge({
    name: 'stork_leader_election_master_status',
    help: 'Whether this replica leads (1) or not (0), by Lease name (client-go: leader_election_master_status).',
    labelNames: ['name'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const leadership = options.leadership;
      if (leadership) this.set({ name: leadership.name }, leadership.isLeader() ? 1 : 0);
    },
  });
  // The four gauges are collected one after another in one scrape: classify the pods once for all.
  let scraped: { at: number; placements: readonly PodPlacement[] } | undefined;
  const currentPlacements = (): readonly PodPlacement[] => {
    if (!scraped || Date.now() - scraped.at > 1000) {
      scraped = { at: Date.now(), placements: options.placements?.() ?? [] };
    }
    return scraped.placements;
  };
  for (const [placement, { name, help }] of Object.entries(storkPlacementGauges) as [
    Placement,
    { name: string; help: string },
  ][]) {
    new Gauge({
      name,
      help,
      labelNames: ['pod', 'namespace'] as const,
      registers: [registry],
      // Computed from the caches when scraped, so the gauges always match the pods as placed now.
      collect() {
        this.reset();
        for (const p of currentPlacements()) {
          if (p.ready && p.storkPlacement === placement) this.set({ pod: p.pod, namespace: p.namespace }, 1);
        }
      },
    });
  }
  new Gauge({
    name: 'stork_pod_placement',
    help: 'Running pods by the class `storkctl get hyperconvergence` shows (1 per pod): hyperconverged (a replica of every volume on its node), semi-hyperconverged (each volume has one in its rack or zone), non-hyperconverged.',
    labelNames: ['pod', 'namespace', 'placement'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of currentPlacements()) {
        this.set({ pod: p.pod, namespace: p.namespace, placement: p.placement }, 1);
      }
    },
  });
  return metrics;
}
