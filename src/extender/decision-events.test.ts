import { describe, expect, it } from 'vitest';
import type { ObjectReference } from '../wire/k8s-types.js';
import type { EventRecorder } from '../k8s/events.js';
import { silentLogger } from '../lib/log.js';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import { reportDecision } from './decision-events.js';
import { filterNodes } from './filter.js';
import { prioritizeNodes } from './prioritize.js';

const options = { staleAfterMs: 30_000 };

function recorder() {
  const events: { object: ObjectReference; type: string; reason: string; message: string }[] = [];
  const fake = {
    record: (object: ObjectReference, type: string, reason: string, message: string) =>
      events.push({ object, type, reason, message }),
  } as unknown as EventRecorder;
  return { events, fake };
}

describe('reportDecision', () => {
  const f = schedulingFixture({
    nodes: [
      { name: 'node1', rack: 'r1' },
      { name: 'node2', rack: 'r2' },
      { name: 'node3', rack: 'r3' },
    ],
    volumes: [{ id: 'v1', replicas: ['node1', 'node2'] }],
    claims: [
      { name: 'data', volume: 'v1' },
      {
        name: 'restoring',
        volume: 'v1',
        annotations: { 'stork.libopenstorage.org/restore-in-progress': 'true' },
      },
    ],
  });

  it('records a FailedScheduling Warning on the pod for a filter error (missing claim, restore)', () => {
    const { events, fake } = recorder();
    for (const claim of ['nope', 'restoring']) {
      const pod = f.pod([claim]);
      reportDecision(
        { verb: 'filter', pod, decision: filterNodes(pod, f.nodes, f.state, options) },
        fake,
        silentLogger,
      );
    }
    expect(events.map((e) => [e.object.kind, e.object.name, e.type, e.reason, e.message])).toEqual([
      ['Pod', 'app', 'Warning', 'FailedScheduling', 'Unable to find PVC default/nope'],
      [
        'Pod',
        'app',
        'Warning',
        'FailedScheduling',
        'Volume restore is in progress for pvc: default/restoring',
      ],
    ]);
  });

  it('records nothing for a filter that decided', () => {
    const { events, fake } = recorder();
    const pod = f.pod(['data']);
    reportDecision(
      { verb: 'filter', pod, decision: filterNodes(pod, f.nodes, f.state, options) },
      fake,
      silentLogger,
    );
    expect(events).toEqual([]);
  });

  it('NonOptimumScheduling names the volumes and the nodes holding their replicas, as Stork’s does', () => {
    const { events, fake } = recorder();
    const pod = f.pod(['data']);
    const decision = prioritizeNodes(pod, f.select('node3'), f.state, options);
    reportDecision({ verb: 'prioritize', pod, decision }, fake, silentLogger);
    expect(events).toHaveLength(1);
    expect(events[0]?.reason).toBe('NonOptimumScheduling');
    expect(events[0]?.message).toBe(
      'Unable to schedule pod using volumes [v1] in a hyperconverged fashion.  Make sure you have enough CPU ' +
        'and memory resources available on these nodes: [node1 node2]',
    );
    const { events: none, fake: quiet } = recorder();
    reportDecision(
      { verb: 'prioritize', pod, decision: prioritizeNodes(pod, f.nodes, f.state, options) },
      quiet,
      silentLogger,
    );
    expect(none).toEqual([]);
  });
});
