import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SchedulingDecision } from '../wire/scheduling-documents.js';
import type { SchedulingDecisionObject } from '../k8s/crds/scheduling-decision.js';
import { KubeApiError } from '../k8s/errors.js';
import { resources } from '../k8s/paths.js';
import { FakeKubeClient } from '../k8s/testing/fake-client.js';
import { createLogger } from '../lib/log.js';
import { DecisionRecorder } from './decision-recorder.js';
import type { DecisionRecord } from './server.js';

const logger = createLogger({ name: 'test', silent: true });
const pod = (name: string, uid = `uid-${name}`) => ({ metadata: { namespace: 'ns', name, uid } });

/** The fake API server, and the records it holds now by pod name. */
function server() {
  const api = new FakeKubeClient();
  const record = (name: string) =>
    api.object<SchedulingDecisionObject>(resources.schedulingDecisions, name, 'ns');
  const decision = (name: string) => record(name)?.decision as SchedulingDecision | undefined;
  const writes = () => api.writes({ resource: 'schedulingdecisions' });
  const podWrites = () => api.writes({ resource: 'pods' });
  return { api, record, decision, writes, podWrites };
}

const filter = (name: string, passed: string[], uid?: string): DecisionRecord => ({
  verb: 'filter',
  pod: pod(name, uid),
  decision: { passed, failed: { n9: 'down' }, requestVolumes: [] },
});
const prioritize = (name: string, node: string, uid?: string): DecisionRecord => ({
  verb: 'prioritize',
  pod: pod(name, uid),
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

const until = async (done: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
};

describe('DecisionRecorder', () => {
  it('joins a filter and its prioritize into one record per pod, with the latest cycle only', async () => {
    const s = server();
    const recorder = new DecisionRecorder({ api: s.api, replica: 'r1', logger, settleMs: 60_000 });
    recorder.observe(filter('a', ['n1', 'n2']));
    recorder.observe(prioritize('a', 'n1'));
    // A second cycle for the same pod replaces the first; its prioritize has not come yet.
    recorder.observe(filter('a', ['n2']));
    recorder.observe(filter('b', []));
    expect(s.writes()).toEqual([]);
    await recorder.stop();
    expect(s.writes().map((w) => [w.verb, w.name])).toEqual([
      ['create', 'a'],
      ['create', 'b'],
    ]);
    const a = s.decision('a');
    expect(a?.replica).toBe('r1');
    expect(a?.nodes).toEqual([
      { node: 'n9', passed: false, reason: 'down' },
      { node: 'n2', passed: true },
    ]);
    expect(a?.topNode).toBeUndefined();
  });

  it('writes beside the pod, owned by it, and never writes the pod', async () => {
    const s = server();
    const recorder = new DecisionRecorder({ api: s.api, replica: 'r1', logger, settleMs: 10 });
    recorder.observe(filter('a', ['n1']));
    recorder.observe(prioritize('a', 'n1'));
    await until(() => s.record('a') !== undefined);
    const record = s.record('a');
    expect(record?.metadata.namespace).toBe('ns');
    expect(record?.metadata.ownerReferences).toEqual([
      { apiVersion: 'v1', kind: 'Pod', name: 'a', uid: 'uid-a' },
    ]);
    expect(s.decision('a')).toMatchObject({ topNode: 'n1', source: 'recorded' });
    expect(s.decision('a')?.nodes.find((n) => n.node === 'n1')).toMatchObject({ replica: 100, score: 10 });
    await recorder.stop();
    expect(s.podWrites()).toEqual([]);
  });

  it('replaces the record of a former pod of the same name, and takes it over for the new pod', async () => {
    const s = server();
    s.api.seed(resources.schedulingDecisions, {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'SchedulingDecision',
      metadata: {
        name: 'db-0',
        namespace: 'ns',
        ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name: 'db-0', uid: 'old' }],
      },
      decision: { nodes: [], replica: 'r0' },
    });
    const recorder = new DecisionRecorder({ api: s.api, replica: 'r1', logger, settleMs: 60_000 });
    recorder.observe(prioritize('db-0', 'n1', 'new'));
    await recorder.stop();
    expect(s.record('db-0')?.metadata.ownerReferences?.[0]?.uid).toBe('new');
    expect(s.decision('db-0')).toMatchObject({ replica: 'r1', topNode: 'n1' });
  });

  it('replaces a record another replica wrote, reading it again after a conflict, three times at most', async () => {
    for (const [conflicts, written] of [
      [2, true],
      [3, false],
    ] as const) {
      const s = server();
      const first = new DecisionRecorder({ api: s.api, replica: 'r1', logger, settleMs: 60_000 });
      first.observe(filter('a', ['n1']));
      await first.stop();
      const conflict = s.api.inject({
        verb: 'replace',
        resource: 'schedulingdecisions',
        times: conflicts,
        error: new KubeApiError(409, 'Conflict', 'the object has been modified', {}),
      });
      const second = new DecisionRecorder({ api: s.api, replica: 'r2', logger, settleMs: 60_000 });
      second.observe(filter('a', ['n2']));
      await second.stop();
      expect(conflict.hits).toBe(Math.min(conflicts, 3));
      expect(s.decision('a')?.replica).toBe(written ? 'r2' : 'r1');
    }
  });

  it('ignores pods deleted meanwhile and pods without a UID', async () => {
    const s = server();
    // What the API server answers for a namespace that is gone: a 404 that names the kind.
    s.api.inject({
      verb: 'create',
      resource: 'schedulingdecisions',
      error: new KubeApiError(404, 'NotFound', 'namespaces "ns" not found', {
        kind: 'Status',
        code: 404,
        reason: 'NotFound',
        details: { name: 'ns', kind: 'namespaces' },
      }),
    });
    const recorder = new DecisionRecorder({ api: s.api, replica: 'r1', logger, settleMs: 60_000 });
    recorder.observe(filter('gone', ['n1']));
    recorder.observe({ ...filter('anonymous', []), pod: { metadata: { namespace: 'ns', name: 'x' } } });
    await recorder.stop();
    expect(s.api.objects(resources.schedulingDecisions)).toEqual([]);
    expect(s.writes()).toHaveLength(1);
  });

  it('keeps at most maxPending pods waiting, dropping the oldest', async () => {
    const s = server();
    const recorder = new DecisionRecorder({
      api: s.api,
      replica: 'r1',
      logger,
      settleMs: 60_000,
      maxPending: 2,
    });
    for (const name of ['a', 'b', 'c']) recorder.observe(filter(name, []));
    await recorder.stop();
    expect(s.writes().map((w) => w.name)).toEqual(['b', 'c']);
    recorder.observe(filter('d', []));
    expect(s.writes()).toHaveLength(2);
  });

  it('stops writing after the API server forbids it (the role lacks schedulingdecisions)', async () => {
    const s = server();
    const fault = s.api.inject({
      resource: 'schedulingdecisions',
      times: Infinity,
      error: new KubeApiError(403, 'Forbidden', 'schedulingdecisions is forbidden', {}),
    });
    const recorder = new DecisionRecorder({ api: s.api, replica: 'r1', logger, settleMs: 5 });
    recorder.observe(filter('a', []));
    await until(() => fault.hits > 0);
    await new Promise((r) => setTimeout(r, 20));
    recorder.observe(filter('b', []));
    await recorder.stop();
    expect(fault.hits).toBe(1);
  });

  it('does not rewrite a verdict that has not changed, but records it for a new pod of the same name', async () => {
    const s = server();
    const recorder = new DecisionRecorder({ api: s.api, replica: 'r1', logger, settleMs: 5 });
    recorder.observe(filter('a', []));
    await until(() => s.writes().length > 0);
    expect(s.writes()).toHaveLength(1);
    recorder.observe(filter('a', []));
    await new Promise((r) => setTimeout(r, 50));
    expect(s.writes()).toHaveLength(1);
    // The same name and verdict, another pod (a StatefulSet's replacement): it has no record of its own yet.
    recorder.observe(filter('a', [], 'uid-a2'));
    await until(() => s.writes().length > 1);
    expect(s.record('a')?.metadata.ownerReferences?.[0]?.uid).toBe('uid-a2');
    recorder.observe(filter('a', ['n1'], 'uid-a2'));
    await recorder.stop();
    expect(s.decision('a')?.nodes).toHaveLength(2);
  });

  describe('with a fake clock', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    /** The fake API server, and a recorder whose timers and clock are the fake ones. */
    const clocked = (settleMs: number) => {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
      const s = server();
      const recorder = new DecisionRecorder({
        api: s.api,
        replica: 'r1',
        logger,
        settleMs,
        concurrency: 4,
        now: () => Date.now(),
      });
      return { s, recorder };
    };
    /** Lets the fake API's answers and what they start run, without moving the clock. */
    const settle = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };

    it('keeps writing while settled decisions wait, not a few per settle period (no lag under a burst)', async () => {
      const { s, recorder } = clocked(500);
      for (let i = 0; i < 40; i++) recorder.observe(filter(`p${i}`, []));
      await settle();
      expect(s.writes()).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(500);
      await settle();
      // All 40 within the first settle period's flush, four at a time, not 4 per 500 ms.
      expect(s.writes()).toHaveLength(40);
      await recorder.stop();
    });

    it('keeps decisions while the API server does not serve SchedulingDecisions yet, and writes them once it does', async () => {
      const { s, recorder } = clocked(10);
      // A CRD installed a moment ago: the API server answers 404 without naming a kind.
      const unserved = s.api.inject({
        verb: 'create',
        resource: 'schedulingdecisions',
        times: 2,
        error: new KubeApiError(404, 'NotFound', 'the server could not find the requested resource', {
          kind: 'Status',
          code: 404,
          reason: 'NotFound',
          details: {},
        }),
      });
      recorder.observe(filter('a', []));
      recorder.observe(filter('b', []));
      await vi.advanceTimersByTimeAsync(10);
      await settle();
      // Both writes were refused together: one pause of 1 s, not two doubled ones.
      expect(unserved.hits).toBe(2);
      expect(s.api.objects(resources.schedulingDecisions)).toEqual([]);
      await vi.advanceTimersByTimeAsync(900);
      await settle();
      expect(s.writes()).toHaveLength(2);
      await vi.advanceTimersByTimeAsync(200);
      await settle();
      expect(s.record('a')).toBeDefined();
      expect(s.record('b')).toBeDefined();
      await recorder.stop();
    });

    it('pauses longer while the refusals go on, up to 30 s, and asks again after each pause', async () => {
      const { s, recorder } = clocked(10);
      const unserved = s.api.inject({
        verb: 'create',
        resource: 'schedulingdecisions',
        times: Infinity,
        error: new KubeApiError(404, 'NotFound', '404 page not found', undefined),
      });
      recorder.observe(filter('a', []));
      const hitsAt: number[] = [];
      const start = Date.now();
      for (let t = 0; t < 70_000; t += 100) {
        await vi.advanceTimersByTimeAsync(100);
        await settle();
        while (hitsAt.length < unserved.hits) hitsAt.push(Date.now() - start);
      }
      const gaps = hitsAt.slice(1).map((t, i) => t - (hitsAt[i] ?? 0));
      // 1, 2, 4, 8, 16, then 30 s between attempts (each within the 100 ms steps of this loop).
      expect(gaps.map((g) => Math.round(g / 1000))).toEqual([1, 2, 4, 8, 16, 30].slice(0, gaps.length));
      expect(gaps.length).toBeGreaterThanOrEqual(5);
      await recorder.stop();
    });
  });
});
