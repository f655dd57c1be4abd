import type { KubeClient } from '../../k8s/client.js';
import { systemClock, type Clock } from '../../lib/clock.js';
import type { Logger } from '../../lib/log.js';
import { ScheduleController, type ScheduleEvents, type ScheduleMetrics } from './schedule-controller.js';
import { TimeZone } from './time-zone.js';

export interface SnapshotSchedulesOptions {
  readonly client: KubeClient;
  readonly events: ScheduleEvents;
  readonly logger: Logger;
  /** IANA zone of policies' times of day (default UTC). */
  readonly timeZone?: string;
  readonly metrics?: ScheduleMetrics;
  readonly clock?: Clock;
}

/** The snapshot schedules as a leader-only component: `run` lasts one leadership term. */
export function snapshotSchedules(options: SnapshotSchedulesOptions): {
  readonly name: string;
  run(signal: AbortSignal): Promise<void>;
} {
  const zone = new TimeZone(options.timeZone ?? 'UTC');
  return {
    name: 'snapshot-schedules',
    run: (signal) =>
      new ScheduleController({
        client: options.client,
        clock: options.clock ?? systemClock,
        zone,
        events: options.events,
        logger: options.logger.child({ controller: 'snapshot-schedule' }),
        ...(options.metrics ? { metrics: options.metrics } : {}),
      }).run(signal),
  };
}
