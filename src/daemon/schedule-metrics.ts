import { Counter, Gauge, type Registry } from 'prom-client';
import type { ScheduleMetrics } from '../controllers/schedule/schedule-controller.js';

/** The snapshot schedules' metrics, registered in stork's registry. */
export function scheduleMetrics(registry: Registry): ScheduleMetrics {
  const snapshots = new Counter({
    name: 'stork_scheduled_snapshots_total',
    help: 'Scheduled snapshots by outcome: created, ready, failed, or skipped (a due run not taken).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const lastSuccess = new Gauge({
    name: 'stork_snapshot_schedule_last_success_timestamp_seconds',
    help: "When a schedule's newest snapshot became Ready (Unix seconds).",
    labelNames: ['namespace', 'name'] as const,
    registers: [registry],
  });
  // Stork's own gauge, with its name and labels.
  const status = new Gauge({
    name: 'stork_volume_snapshotschedule_status',
    help: 'Status of volume snapshot schedules: 1 suspended, 0 active.',
    labelNames: ['name', 'namespace', 'policy'] as const,
    registers: [registry],
  });
  const policies = new Map<string, string>();
  return {
    snapshot: (outcome, count = 1) => snapshots.inc({ outcome }, count),
    lastSuccess: (namespace, name, seconds) => lastSuccess.set({ namespace, name }, seconds),
    suspended: (namespace, name, policy, suspended) => {
      const id = `${namespace}/${name}`;
      const previous = policies.get(id);
      if (previous !== undefined && previous !== policy) status.remove({ name, namespace, policy: previous });
      policies.set(id, policy);
      status.set({ name, namespace, policy }, suspended ? 1 : 0);
    },
    forget: (namespace, name) => {
      const id = `${namespace}/${name}`;
      const policy = policies.get(id);
      if (policy !== undefined) status.remove({ name, namespace, policy });
      policies.delete(id);
      lastSuccess.remove({ namespace, name });
    },
  };
}
