import { objectReference, type EventRecorder } from '../k8s/events.js';
import type { Logger } from '../lib/log.js';
import type { DecisionRecord } from './server.js';

/**
 * What users see of a scheduling decision, as Stork shows it: a `FailedScheduling` Warning on the pod
 * when it cannot be placed now (and why), a `NonOptimumScheduling` Warning naming the replica nodes when
 * it could not be placed next to its data, and logs.
 */
export function reportDecision(record: DecisionRecord, events: EventRecorder, logger: Logger): void {
  const pod = `${record.pod.metadata?.namespace ?? ''}/${record.pod.metadata?.name ?? ''}`;
  const debug = logger.isLevelEnabled('debug');
  const reference = (): ReturnType<typeof objectReference> =>
    objectReference({ ...record.pod, kind: 'Pod', apiVersion: 'v1' });
  if (record.verb === 'filter') {
    const { decision } = record;
    if (decision.error) {
      logger.info({ pod, reason: decision.error }, 'filter: cannot place pod now');
      // As Stork: the reason shows in `kubectl describe pod`, not only in stork's log. The recorder
      // aggregates repeats, so a pod retried every few seconds makes one event with a count.
      events.record(reference(), 'Warning', 'FailedScheduling', decision.error);
    } else if (debug)
      logger.debug({ pod, passed: decision.passed.length, failed: decision.failed }, 'filter');
    return;
  }
  const { decision } = record;
  // Built only when debug logging is on: this runs for every pod, over every node.
  if (debug) {
    const scored = decision.scores.filter((s) => s.score > 0).map((s) => [s.node, s.raw, s.score]);
    logger.debug({ pod, scored, neutral: decision.neutralReason }, 'prioritize');
  }
  if (decision.notHyperconverged.length > 0) {
    events.record(
      reference(),
      'Warning',
      'NonOptimumScheduling',
      `Unable to schedule pod using volumes [${decision.notHyperconverged.join(' ')}] in a hyperconverged fashion.  ` +
        'Make sure you have enough CPU and memory resources available on these nodes: ' +
        `[${(decision.replicaNodes ?? []).join(' ')}]`,
    );
  }
}
