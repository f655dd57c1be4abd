import { describe, expect, it } from 'vitest';
import { schedulingDecisionAnnotation, type SchedulingDecision } from '../drivers/scheduling-documents.js';
import { KubeApiError } from '../k8s/errors.js';
import { createLogger } from '../lib/log.js';
import { DecisionRecorder } from './decision-recorder.js';
import type { DecisionRecord } from './server.js';

const logger = createLogger({ name: 'test', silent: true });
const pod = (name: string) => ({ metadata: { namespace: 'ns', name } });

function fakeApi(fail?: (name: string) => Error | undefined) {
  const patches: { name: string; decision: SchedulingDecision }[] = [];
  return {
    patches,
    api: {
      patch: (_type: unknown, ref: { name: string }, body: unknown) => {
        const error = fail?.(ref.name);
        if (error) return Promise.reject(error);
        const text = (body as { metadata: { annotations: Record<string, string> } }).metadata.annotations[
          schedulingDecisionAnnotation
        ];
        patches.push({ name: ref.name, decision: JSON.parse(text ?? '') as SchedulingDecision });
        return Promise.resolve({});
      },
    } as never,
  };
}

const filter = (name: string, passed: string[]): DecisionRecord => ({
  verb: 'filter',
  pod: pod(name),
  decision: { passed, failed: { n9: 'down' }, requestVolumes: [] },
});
const prioritize = (name: string, node: string): DecisionRecord => ({
  verb: 'prioritize',
  pod: pod(name),
  decision: {
    scores: [
      {
        node,
        raw: 100,
        score: 10,
        parts: [{ volume: 'v', tier: 'replica', points: 100 }],
        storageNode: true,
      },
    ],
    notHyperconverged: [],
    requestVolumes: [],
  },
});

describe('DecisionRecorder', () => {
  it('joins a filter and its prioritize into one write per pod, with the latest cycle only', async () => {
    const { api, patches } = fakeApi();
    const recorder = new DecisionRecorder({ api, replica: 'r1', logger, settleMs: 60_000 });
    recorder.observe(filter('a', ['n1', 'n2']));
    recorder.observe(prioritize('a', 'n1'));
    // A second cycle for the same pod replaces the first; its prioritize has not come yet.
    recorder.observe(filter('a', ['n2']));
    recorder.observe(filter('b', []));
    expect(patches).toEqual([]);
    await recorder.stop();
    expect(patches.map((p) => p.name).sort()).toEqual(['a', 'b']);
    const a = patches.find((p) => p.name === 'a')?.decision;
    expect(a?.replica).toBe('r1');
    expect(a?.nodes).toEqual([
      { node: 'n9', passed: false, reason: 'down' },
      { node: 'n2', passed: true },
    ]);
    expect(a?.topNode).toBeUndefined();
  });

  it('writes a settled decision by itself, and ignores pods deleted meanwhile', async () => {
    const { api, patches } = fakeApi((name) =>
      name === 'gone' ? new KubeApiError(404, 'NotFound', 'gone', {}) : undefined,
    );
    const recorder = new DecisionRecorder({ api, replica: 'r1', logger, settleMs: 10 });
    recorder.observe(filter('a', ['n1']));
    recorder.observe(prioritize('a', 'n1'));
    recorder.observe(filter('gone', ['n1']));
    for (let i = 0; i < 100 && patches.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(patches).toHaveLength(1);
    expect(patches[0]?.decision).toMatchObject({ topNode: 'n1', source: 'recorded' });
    expect(patches[0]?.decision.nodes.find((n) => n.node === 'n1')).toMatchObject({
      replica: 100,
      score: 10,
    });
    await recorder.stop();
  });

  it('keeps at most maxPending pods waiting, dropping the oldest', async () => {
    const { api, patches } = fakeApi();
    const recorder = new DecisionRecorder({ api, replica: 'r1', logger, settleMs: 60_000, maxPending: 2 });
    for (const name of ['a', 'b', 'c']) recorder.observe(filter(name, []));
    await recorder.stop();
    expect(patches.map((p) => p.name).sort()).toEqual(['b', 'c']);
    recorder.observe(filter('d', []));
    expect(patches).toHaveLength(2);
  });

  it('stops writing after the API server forbids it (the role lacks patch on pods)', async () => {
    let attempts = 0;
    const { api, patches } = fakeApi(() => {
      attempts++;
      return new KubeApiError(403, 'Forbidden', 'pods is forbidden', {});
    });
    const recorder = new DecisionRecorder({ api, replica: 'r1', logger, settleMs: 5 });
    recorder.observe(filter('a', []));
    for (let i = 0; i < 100 && attempts === 0; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 20));
    recorder.observe(filter('b', []));
    await recorder.stop();
    expect(attempts).toBe(1);
    expect(patches).toEqual([]);
  });

  it('does not rewrite a verdict that has not changed (a pod change would make kube-scheduler retry it)', async () => {
    const { api, patches } = fakeApi();
    const recorder = new DecisionRecorder({ api, replica: 'r1', logger, settleMs: 5 });
    const settled = () => new Promise((r) => setTimeout(r, 50));
    recorder.observe(filter('a', []));
    for (let i = 0; i < 200 && patches.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(patches).toHaveLength(1);
    recorder.observe(filter('a', []));
    await settled();
    expect(patches).toHaveLength(1);
    recorder.observe(filter('a', ['n1']));
    await recorder.stop();
    expect(patches.map((p) => p.decision.nodes.length)).toEqual([1, 2]);
  });
});
