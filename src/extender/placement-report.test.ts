import { describe, expect, it } from 'vitest';
import type { Pod } from '../wire/k8s-types.js';
import { schedulingFixture } from '../../test/fixtures/scheduling.js';
import { hyperconvergenceReport, podPlacements } from './placement-report.js';

const f = schedulingFixture({
  nodes: [
    { name: 'node1', rack: 'r1' },
    { name: 'node2', rack: 'r1' },
    { name: 'node3', rack: 'r2' },
  ],
  volumes: [
    { id: 'v1', replicas: ['node1', 'node2'] },
    { id: 'v2', replicas: ['node1'] },
  ],
  claims: [
    { name: 'a', volume: 'v1' },
    { name: 'b', volume: 'v2' },
  ],
});

const running = (name: string, node: string, claims: string[], ready = true): Pod => {
  const pod = f.pod(claims);
  return {
    ...pod,
    metadata: { ...pod.metadata, name },
    spec: { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: node },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
};

const placements = (pods: Pod[]) =>
  podPlacements(
    pods,
    { get: (name) => f.state.getNode(name), list: () => [...f.state.listNodes()] },
    f.state.snapshot,
    f.state.driver,
    f.state,
    'px/rack',
  );

describe('podPlacements', () => {
  it("gives Stork's class (replicas held against the most any node holds) beside ours", () => {
    const result = placements([
      running('on-node1', 'node1', ['a', 'b']),
      running('on-node2', 'node2', ['a', 'b']),
      running('on-node3', 'node3', ['a', 'b']),
      running('one-volume', 'node2', ['a']),
    ]);
    expect(result.map((p) => [p.pod, p.placement, p.storkPlacement])).toEqual([
      ['on-node1', 'hyperconverged', 'hyperconverged'],
      // node2 holds v1 only (1 of 2, node1 holds both): Stork says semi; ours says same rack for v2.
      ['on-node2', 'semi-hyperconverged', 'semi-hyperconverged'],
      // Nothing on node3: Stork's non; ours non too (r2 holds no replica).
      ['on-node3', 'non-hyperconverged', 'non-hyperconverged'],
      // node2 holds as many of v1's replicas as any node: Stork's hyper-converged.
      ['one-volume', 'hyperconverged', 'hyperconverged'],
    ]);
  });

  it('differs where the classes do: a same-rack pod is semi for us, non for Stork', () => {
    const [p] = placements([running('same-rack', 'node2', ['b'])]);
    expect([p?.placement, p?.storkPlacement]).toEqual(['semi-hyperconverged', 'non-hyperconverged']);
  });

  it('says whether the pod is Ready (Stork counts Ready pods only), and keeps both out of the report', () => {
    const result = placements([running('ready', 'node1', ['a']), running('unready', 'node1', ['a'], false)]);
    expect(result.map((p) => p.ready)).toEqual([true, false]);
    const report = hyperconvergenceReport(result, 'stork-0', 0);
    expect(Object.keys(report.pods[0] ?? {}).sort()).toEqual([
      'namespace',
      'node',
      'placement',
      'pod',
      'volumes',
    ]);
  });
});
