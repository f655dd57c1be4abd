import { describe, expect, it } from 'vitest';
import { schedulingDecisionAnnotation, type SchedulingDecision } from '../wire/scheduling-documents.js';
import { decisionOfRecord, decisionText, explanationText, recordedDecision, verdictRow } from './explain.js';

const decision: SchedulingDecision = {
  time: '2026-01-02T03:04:05.000Z',
  replica: 'stork-1',
  source: 'recorded',
  topNode: 'n1',
  nodes: [
    { node: 'n3', passed: false, reason: 'pxd storage on this node is Offline' },
    { node: 'n1', passed: true, score: 10, raw: 150, replica: 100, rack: 50, zone: 0, region: 0 },
    { node: 'n2', passed: true, score: 0, raw: 5, replica: 0, rack: 0, zone: 0, region: 0 },
  ],
};

describe('explain output', () => {
  it('shows one row per node: filter verdict and reason, score (raw) and its parts', () => {
    expect(decision.nodes.map(verdictRow)).toEqual([
      ['n3', 'filtered', 'pxd storage on this node is Offline', '', '', '', '', ''],
      ['n1', 'passed', '', '10 (150)', '100', '50', '0', '0'],
      ['n2', 'passed', '', '0 (5)', '0', '0', '0', '0'],
    ]);
  });

  it('heads the table with where the pod is and who decided when', () => {
    const text = explanationText({
      pod: { namespace: 'ns', name: 'p', phase: 'Running', node: 'n1' },
      recorded: decision,
    });
    expect(text.split('\n').slice(0, 5)).toEqual([
      'Pod ns/p runs on node n1.',
      '',
      'Last scheduling decision: made 2026-01-02T03:04:05.000Z by stork replica stork-1.',
      'Stork scored n1 highest.',
      'NODE   FILTER     REASON                                SCORE      REPLICA   RACK   ZONE   REGION',
    ]);
    const pending = explanationText({
      pod: { namespace: 'ns', name: 'p', phase: 'Pending' },
      now: {
        time: decision.time,
        replica: 'stork-1',
        source: 'now',
        error: 'No online node found with volume replica',
        nodes: [],
      },
    });
    expect(pending).toContain('Pod ns/p is not scheduled (Pending).');
    expect(pending).toContain('What stork would decide now: made');
    expect(pending).toContain(
      'No node passed the filter: No online node found with volume replica\nNo candidate nodes.',
    );
  });

  it('reads the recorded decision from the annotation, and says when it is not JSON', () => {
    const pod = (text: string) => ({ metadata: { annotations: { [schedulingDecisionAnnotation]: text } } });
    expect(recordedDecision(pod(JSON.stringify(decision)))).toEqual(decision);
    expect(recordedDecision({})).toBeUndefined();
    expect(() => recordedDecision(pod('{'))).toThrow('not valid JSON');
  });
});

describe('the recorded SchedulingDecision', () => {
  const record = (uid: string, body: unknown = decision) => ({
    apiVersion: 'stork.libopenstorage.org/v1alpha1' as const,
    kind: 'SchedulingDecision' as const,
    metadata: {
      name: 'p',
      namespace: 'ns',
      ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'p', uid }],
    },
    decision: body,
  });
  const pod = { metadata: { name: 'p', namespace: 'ns', uid: 'u1' } };

  it("is the pod's only when the pod owns it (not a former pod's of the same name)", () => {
    expect(decisionOfRecord(pod, record('u1'))).toEqual(decision);
    expect(decisionOfRecord(pod, record('u0'))).toBeUndefined();
    expect(decisionOfRecord({ metadata: { name: 'p' } }, record('u1'))).toBeUndefined();
  });

  it('says when the record holds no decision document', () => {
    expect(() => decisionOfRecord(pod, record('u1', { nodes: 'x' }))).toThrow('not a decision document');
  });
});

describe('decisionText with CSI capacity points', () => {
  it('adds a CAPACITY column only when a node has capacity points', () => {
    const text = decisionText('Now', {
      time: '2026-01-01T00:00:00.000Z',
      replica: 'r',
      source: 'now',
      nodes: [
        {
          node: 'n1',
          passed: true,
          score: 10,
          raw: 80,
          replica: 0,
          rack: 0,
          zone: 0,
          region: 0,
          capacity: 80,
        },
        { node: 'n2', passed: false, reason: 'CSI driver x is not registered on this node' },
      ],
    });
    expect(text).toMatch(/CAPACITY/);
    expect(text).toMatch(/n1 .* 80\n/);
    const plain = decisionText('Now', {
      time: '2026-01-01T00:00:00.000Z',
      replica: 'r',
      source: 'now',
      nodes: [{ node: 'n1', passed: true, score: 0, raw: 5 }],
    });
    expect(plain).not.toMatch(/CAPACITY/);
  });
});
