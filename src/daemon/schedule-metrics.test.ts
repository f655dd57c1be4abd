import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { scheduleMetrics } from './schedule-metrics.js';

describe('scheduleMetrics', () => {
  it('counts outcomes, keeps one status series per schedule, and drops a schedule that is gone', async () => {
    const registry = new Registry();
    const metrics = scheduleMetrics(registry);
    metrics.snapshot('created');
    metrics.snapshot('skipped', 3);
    metrics.suspended('prod', 'db', 'hourly', true);
    metrics.suspended('prod', 'db', 'daily', false);
    metrics.lastSuccess('prod', 'db', 1_767_225_600);
    const text = await registry.metrics();
    expect(text).toContain('stork_scheduled_snapshots_total{outcome="created"} 1');
    expect(text).toContain('stork_scheduled_snapshots_total{outcome="skipped"} 3');
    expect(text).toContain(
      'stork_volume_snapshotschedule_status{name="db",namespace="prod",policy="daily"} 0',
    );
    expect(text).not.toContain('policy="hourly"');
    expect(text).toContain(
      'stork_snapshot_schedule_last_success_timestamp_seconds{namespace="prod",name="db"} 1767225600',
    );
    metrics.forget('prod', 'db');
    const after = await registry.metrics();
    expect(after).not.toContain('name="db"');
  });
});
