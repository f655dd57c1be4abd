import { objectReference, type EventRecorder } from '../k8s/events.js';
import type { Logger } from '../lib/log.js';
import type { DecisionRecord } from './server.js';

/**
 * What users see of a scheduling decision: an Event on the pod when it could not be placed next to its
 * data (Stork's `NonOptimumScheduling`), and logs saying why a pod cannot be placed now.
 */
export function reportDecision(record: DecisionRecord, events: EventRecorder, logger: Logger): void {
  const pod = `${record.pod.metadata?.namespace ?? ''}/${record.pod.metadata?.name ?? ''}`;
  const debug = logger.isLevelEnabled('debug');
  if (record.verb === 'filter') {
    const { decision } = record;
    if (decision.error) logger.info({ pod, reason: decision.error }, 'filter: cannot place pod now');
    else if (debug) logger.debug({ pod, passed: decision.passed.length, failed: decision.failed }, 'filter');
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
      objectReference({ ...record.pod, kind: 'Pod', apiVersion: 'v1' }),
      'Warning',
      'NonOptimumScheduling',
      `Unable to schedule pod using volumes [${decision.notHyperconverged.join(', ')}] in a hyperconverged fashion: ` +
        'none of the nodes offered holds a replica. Check that the replica nodes have room for this pod.',
    );
  }
}
