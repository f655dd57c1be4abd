import { describe, expect, it } from 'vitest';
import type { HyperconvergenceReport } from '../wire/scheduling-documents.js';
import { hyperconvergenceText, inNamespace } from './hyperconvergence.js';

const report: HyperconvergenceReport = {
  time: 't',
  replica: 'r',
  summary: { total: 3, hyperconverged: 1, semiHyperconverged: 1, nonHyperconverged: 1 },
  pods: [
    {
      namespace: 'b',
      pod: 'x',
      node: 'n2',
      placement: 'non-hyperconverged',
      volumes: [{ claim: 'c', volume: 'v', replicaNodes: ['n1'] }],
    },
    {
      namespace: 'a',
      pod: 'y',
      node: 'n1',
      placement: 'hyperconverged',
      volumes: [{ claim: 'd', volume: 'w', replicaNodes: ['n1', 'n3'] }],
    },
    { namespace: 'a', pod: 'z', node: 'n4', placement: 'semi-hyperconverged', volumes: [] },
  ],
};

describe('hyperconvergence output', () => {
  it('lists pods by namespace and name, with their volumes’ replica nodes and a summary', () => {
    expect(hyperconvergenceText(report)).toBe(
      'NAMESPACE   POD   NODE   PLACEMENT             VOLUMES\n' +
        'a           y     n1     hyper-converged       d:[n1,n3]\n' +
        'a           z     n4     same rack/zone\n' +
        'b           x     n2     not hyper-converged   c:[n1]\n' +
        '\n3 pod(s) with driver volumes: 1 hyper-converged (33%), 1 in the same rack or zone (33%), 1 not hyper-converged (33%).\n',
    );
  });

  it('recounts the summary for one namespace', () => {
    expect(inNamespace(report, 'a').summary).toEqual({
      total: 2,
      hyperconverged: 1,
      semiHyperconverged: 1,
      nonHyperconverged: 0,
    });
    expect(inNamespace(report, 'none').pods).toEqual([]);
  });
});
