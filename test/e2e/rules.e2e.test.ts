import { appendFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Event, Pod } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SnapshotHookError, type SnapshotHooks } from '../../src/controllers/snapshot/hooks.js';
import type { RulesConfig } from '../../src/controllers/rules/config.js';
import { SnapshotRules } from '../../src/controllers/rules/snapshot-rules.js';
import { parseTasks, runningCommandsAnnotation } from '../../src/controllers/rules/tracking.js';
import { KubeApi } from '../../src/k8s/api.js';
import { ensureCrds } from '../../src/k8s/crds/install.js';
import type { Rule, RuleItem } from '../../src/k8s/crds/rule.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { EventRecorder } from '../../src/k8s/events.js';
import { resources } from '../../src/k8s/paths.js';
import { silentLogger } from '../../src/lib/log.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, isRunning, testPod, useBox, waitForPod } from './helpers.js';
import { testRuleTimings } from './rule-fixtures.js';

/*
 * KWOK runs every pod's exec on this host, so the rules' commands append to files in a temporary
 * directory: the tests read what ran, where, and in which order.
 */
describe('snapshot rules against the real API server (commands exec through it)', () => {
  const ctx = useBox(() => ({ nodes: [{ name: 'node-1' }] }));
  let ns = '';
  let dir = '';
  let markerDir = '';
  let events: EventRecorder;
  const claim = 'data';

  const config: Partial<RulesConfig> = testRuleTimings;
  const hooks = (extra: Partial<RulesConfig> = {}, api?: KubeApi): SnapshotHooks =>
    new SnapshotRules({
      api: api ?? ctx.box.api,
      logger: silentLogger,
      events,
      config: { ...config, markerDir, ...extra },
    });
  const signal = (): AbortSignal => AbortSignal.timeout(120_000);

  beforeAll(async () => {
    await ensureCrds(ctx.box.api);
    ns = await createTestNamespace(ctx.box.api, 'rules');
    dir = await mkdtemp(join(tmpdir(), 'stork-rules-'));
    markerDir = await mkdtemp(join(tmpdir(), 'stork-rules-markers-'));
    events = new EventRecorder({ api: ctx.box.api, component: 'stork' });
    const pods: Pod[] = [
      testPod('db-0', { labels: { app: 'db', role: 'primary' }, claims: [claim], nodeName: 'node-1' }),
      testPod('db-1', { labels: { app: 'db' }, claims: [claim, 'logs'], nodeName: 'node-1' }),
      // Same labels, but it does not use the snapshot's claim: rules never touch it.
      testPod('elsewhere', { labels: { app: 'db' }, claims: ['other'], nodeName: 'node-1' }),
    ];
    for (const pod of pods) await ctx.box.api.create(resources.pods, pod, ns);
    for (const pod of pods) await waitForPod(ctx.box.api, ns, pod.metadata?.name ?? '', isRunning);
  });

  afterAll(async () => {
    await events.close();
    // Should a test have failed to release a background command, release it here: it runs on this host.
    const waiting = (await readdir(markerDir).catch(() => [])).flatMap((f) => {
      const match = /^stork-wait-(.+)\.sh$/.exec(f);
      return match?.[1] ? [join(markerDir, `killme-${match[1]}`)] : [];
    });
    await Promise.all(waiting.map((file) => appendFile(file, '')));
    if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 2000));
    await rm(dir, { recursive: true, force: true });
    await rm(markerDir, { recursive: true, force: true });
  });

  const lines = async (file: string): Promise<string[]> =>
    (await readFile(join(dir, file), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  const count = (all: string[], line: string): number => all.filter((l) => l === line).length;
  const append = (file: string, what: string): string => `echo ${what} >> ${join(dir, file)}`;

  let ruleCount = 0;
  async function rule(shape: 'spec' | 'rules', items: RuleItem[]): Promise<string> {
    const name = `rule-${++ruleCount}`;
    const body: Rule = {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'Rule',
      metadata: { name },
      [shape]: items,
    };
    await ctx.box.api.create(resources.rules, body, ns);
    return name;
  }

  let snapshotCount = 0;
  async function snapshot(annotations: Record<string, string>, pvc = claim): Promise<VolumeSnapshot> {
    return ctx.box.api.create<VolumeSnapshot>(
      resources.volumeSnapshots,
      {
        apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: `snap-${++snapshotCount}`, annotations },
        spec: { persistentVolumeClaimName: pvc },
      },
      ns,
    );
  }
  const later = (pre?: string, post?: string): Record<string, string> => ({
    ...(pre ? { 'stork.libopenstorage.org/pre-snapshot-rule': pre } : {}),
    ...(post ? { 'stork.libopenstorage.org/post-snapshot-rule': post } : {}),
  });
  const early = (pre?: string, post?: string): Record<string, string> => ({
    ...(pre ? { 'stork.rule/pre-snapshot': pre } : {}),
    ...(post ? { 'stork.rule/post-snapshot': post } : {}),
  });

  const getSnapshot = (name: string): Promise<VolumeSnapshot> =>
    ctx.box.api.get<VolumeSnapshot>(resources.volumeSnapshots, { namespace: ns, name });
  const record = async (name: string): Promise<string | undefined> =>
    (await getSnapshot(name)).metadata.annotations?.[runningCommandsAnnotation];
  const markers = async (): Promise<string[]> => readdir(markerDir);
  async function eventsOf(name: string, reason: string): Promise<Event[]> {
    await events.flush();
    return (
      await ctx.box.api.list<Event>(resources.events, ns, {
        fieldSelector: `involvedObject.name=${name},reason=${reason}`,
      })
    ).items;
  }
  async function failure(promise: Promise<unknown>): Promise<SnapshotHookError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SnapshotHookError);
    return error as SnapshotHookError;
  }
  const waitForLines = (file: string, line: string, n: number): Promise<string[]> =>
    waitFor(
      `${n} "${line}" lines in ${file}`,
      async () => {
        const all = await lines(file);
        return count(all, line) >= n ? all : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );

  it('runs the pre rule before the snapshot and the post rule after, in every pod using the claim', async () => {
    const pre = await rule('rules', [
      { podSelector: { app: 'db' }, actions: [{ type: 'command', value: append('order.log', 'pre') }] },
    ]);
    const post = await rule('rules', [
      { podSelector: { app: 'db' }, actions: [{ type: 'command', value: append('order.log', 'post') }] },
    ]);
    const snap = await snapshot(later(pre, post));
    const after = await hooks().beforeSnapshot(snap, [claim], signal());
    await appendFile(join(dir, 'order.log'), 'snapshot\n');
    await after.afterSnapshot(true, signal());
    // Two pods use the claim (in parallel); the third pod with the same labels does not.
    expect(await lines('order.log')).toEqual(['pre', 'pre', 'snapshot', 'post', 'post']);
    expect(await eventsOf(snap.metadata.name ?? '', 'RuleSucceeded')).toHaveLength(2);
  });

  it('reads early Rules (items in spec) named by the early annotations; runInSinglePod runs in one pod', async () => {
    const pre = await rule('spec', [
      {
        podSelector: { app: 'db' },
        actions: [
          { type: 'command', value: append('early.log', 'single'), runInSinglePod: true },
          { type: 'command', value: append('early.log', 'all') },
        ],
      },
    ]);
    const post = await rule('spec', [
      { podSelector: { app: 'db' }, actions: [{ type: 'command', value: append('early.log', 'post') }] },
    ]);
    const snap = await snapshot(early(pre, post));
    const after = await hooks().beforeSnapshot(snap, [claim], signal());
    await after.afterSnapshot(true, signal());
    expect(await lines('early.log')).toEqual(['single', 'all', 'all', 'post', 'post']);
  });

  it('narrows by podSelector, skips an item whose selector matches nothing, and a claim no pod uses', async () => {
    const pre = await rule('rules', [
      {
        podSelector: { role: 'primary' },
        actions: [{ type: 'command', value: append('select.log', 'primary') }],
      },
      {
        podSelector: { app: 'nothing' },
        actions: [{ type: 'command', value: append('select.log', 'none') }],
      },
      {
        podSelector: { app: 'db' },
        container: 'main',
        actions: [{ type: 'command', value: append('select.log', 'db') }],
      },
    ]);
    const after = await hooks().beforeSnapshot(await snapshot(later(pre)), [claim], signal());
    await after.afterSnapshot(true, signal());
    expect(await lines('select.log')).toEqual(['primary', 'db', 'db']);

    const unused = await snapshot(later(pre), 'unused');
    await (await hooks().beforeSnapshot(unused, ['unused'], signal())).afterSnapshot(true, signal());
    expect(await lines('select.log')).toEqual(['primary', 'db', 'db']);
  });

  it('holds a background command while the snapshot is taken and releases it right after', async () => {
    const pre = await rule('rules', [
      {
        podSelector: { app: 'db' },
        actions: [
          {
            type: 'command',
            value: `${append('bg.log', 'locked')}; \${WAIT_CMD}; ${append('bg.log', 'unlocked')}`,
            background: true,
          },
          { type: 'command', value: append('bg.log', 'pre') },
        ],
      },
    ]);
    const post = await rule('rules', [
      { podSelector: { app: 'db' }, actions: [{ type: 'command', value: append('bg.log', 'post') }] },
    ]);
    const snap = await snapshot(later(pre, post));
    const after = await hooks().beforeSnapshot(snap, [claim], signal());

    // The snapshot step: both commands hold their lock now, and the snapshot says so.
    expect(await lines('bg.log')).toEqual(['locked', 'locked', 'pre', 'pre']);
    const tasks = parseTasks((await record(snap.metadata.name ?? '')) ?? 'missing');
    expect(tasks).toHaveLength(1);
    expect(tasks[0]?.pods.map((p) => p.name).sort()).toEqual(['db-0', 'db-1']);
    expect((await markers()).filter((f) => f.startsWith('stork-cmd-done-'))).toHaveLength(2);
    await appendFile(join(dir, 'bg.log'), 'snapshot\n');

    await after.afterSnapshot(true, signal());
    const all = await lines('bg.log');
    expect(all.slice(0, 5)).toEqual(['locked', 'locked', 'pre', 'pre', 'snapshot']);
    // Released before the post rule runs, and the commands went on past ${WAIT_CMD} and ended.
    expect(all.slice(5)).toEqual(['unlocked', 'unlocked', 'post', 'post']);
    expect(await record(snap.metadata.name ?? '')).toBeUndefined();
    expect(await markers()).toEqual([]);
  });

  describe('validation: nothing runs and the message says why', () => {
    it.each([
      [
        'a rule that does not exist',
        () => Promise.resolve({ pre: 'no-such-rule' }),
        /^failed to validate snap rule due to: rule rules-\w+\/no-such-rule not found$/,
      ],
      [
        'an unknown action type',
        async () => ({ pre: await rule('rules', [{ actions: [{ type: 'http', value: 'x' }] }]) }),
        /failed to validate snap rule due to: rule .*: unsupported action type: http/,
      ],
      [
        'a background action in a post rule',
        async () => ({
          post: await rule('rules', [
            { actions: [{ type: 'command', value: 'x; ${WAIT_CMD}', background: true }] },
          ]),
        }),
        /failed to validate snap rule due to: .*background actions are not supported for post snapshot rules/,
      ],
      [
        'a background command without ${WAIT_CMD}',
        async () => ({
          pre: await rule('spec', [{ actions: [{ type: 'command', value: 'sleep 1', background: true }] }]),
        }),
        /failed to validate snap rule due to: .*background command "sleep 1" .* needs the \$\{WAIT_CMD\} placeholder/,
      ],
    ])('%s', async (_what, rules, message) => {
      const { pre, post } = (await rules()) as { pre?: string; post?: string };
      // A valid rule on the other side must not run either: validation comes first.
      const other = await rule('rules', [
        { actions: [{ type: 'command', value: append('invalid.log', 'ran') }] },
      ]);
      const snap = await snapshot(later(pre ?? other, post ?? other));
      const error = await failure(hooks().beforeSnapshot(snap, [claim], signal()));
      expect(error.message).toMatch(message);
      expect(await lines('invalid.log')).toEqual([]);
      const failed = await eventsOf(snap.metadata.name ?? '', 'RuleFailed');
      expect(failed.map((e) => e.message)).toEqual([error.message]);
      expect(failed[0]?.type).toBe('Warning');
    });
  });

  describe('failures while running', () => {
    it('a failing pre command is retried (bounded), reported with its exit code, and nothing else runs', async () => {
      const pre = await rule('rules', [
        {
          podSelector: { role: 'primary' },
          actions: [
            { type: 'command', value: `${append('fail.log', 'attempt')}; echo broken >&2; exit 3` },
            { type: 'command', value: append('fail.log', 'next') },
          ],
        },
      ]);
      const post = await rule('rules', [
        { actions: [{ type: 'command', value: append('fail.log', 'post') }] },
      ]);
      const error = await failure(
        hooks().beforeSnapshot(await snapshot(later(pre, post)), [claim], signal()),
      );
      expect(error.message).toMatch(
        /^failed to run pre-snap rule due to: command ".*" in pod rules-\w+\/db-0 \(container main\) failed after 2 attempts: exited with code 3: broken$/,
      );
      expect(await lines('fail.log')).toEqual(['attempt', 'attempt']);
    });

    it('a command that does not finish in time fails the rule', async () => {
      const pre = await rule('rules', [
        { podSelector: { role: 'primary' }, actions: [{ type: 'command', value: 'sleep 3' }] },
      ]);
      const error = await failure(
        hooks({ commandTimeoutMs: 300, commandAttempts: 1 }).beforeSnapshot(
          await snapshot(later(pre)),
          [claim],
          signal(),
        ),
      );
      expect(error.message).toMatch(/failed to run pre-snap rule due to: .*did not finish within 300 ms/);
    });

    it('a container the pod does not have fails the rule', async () => {
      const pre = await rule('rules', [
        { podSelector: { app: 'db' }, container: 'sidecar', actions: [{ type: 'command', value: 'true' }] },
      ]);
      const error = await failure(hooks().beforeSnapshot(await snapshot(later(pre)), [claim], signal()));
      expect(error.message).toMatch(
        /failed to run pre-snap rule due to: pod rules-\w+\/db-0 has no container sidecar/,
      );
    });

    it('a failure after a background command started releases it', async () => {
      const pre = await rule('rules', [
        {
          podSelector: { app: 'db' },
          actions: [
            {
              type: 'command',
              value: `${append('bgfail.log', 'locked')}; \${WAIT_CMD}; ${append('bgfail.log', 'unlocked')}`,
              background: true,
            },
          ],
        },
        { podSelector: { role: 'primary' }, actions: [{ type: 'command', value: 'exit 5' }] },
      ]);
      const snap = await snapshot(later(pre));
      const error = await failure(hooks().beforeSnapshot(snap, [claim], signal()));
      expect(error.message).toMatch(/failed to run pre-snap rule due to: .*exited with code 5/);
      await waitForLines('bgfail.log', 'unlocked', 2);
      expect(await record(snap.metadata.name ?? '')).toBeUndefined();
    });

    it('a background command that ends before ${WAIT_CMD} fails with its exit code', async () => {
      const pre = await rule('rules', [
        {
          podSelector: { role: 'primary' },
          actions: [{ type: 'command', value: 'echo no lock >&2; exit 4; ${WAIT_CMD}', background: true }],
        },
      ]);
      const snap = await snapshot(later(pre));
      const error = await failure(hooks().beforeSnapshot(snap, [claim], signal()));
      expect(error.message).toMatch(
        /failed to run pre-snap rule due to: background command .* in pod rules-\w+\/db-0 \(container main\) exited with code 4 before it reached \$\{WAIT_CMD\}: no lock/,
      );
      expect(await record(snap.metadata.name ?? '')).toBeUndefined();
    });

    it('a background command that does not reach ${WAIT_CMD} in time fails, and is released once it does', async () => {
      const gate = join(dir, 'gate');
      const pre = await rule('rules', [
        {
          podSelector: { role: 'primary' },
          actions: [
            {
              type: 'command',
              value: `while [ ! -f ${gate} ]; do sleep 0.1; done; \${WAIT_CMD}; ${append('slow.log', 'unlocked')}`,
              background: true,
            },
          ],
        },
      ]);
      const snap = await snapshot(later(pre));
      const error = await failure(
        hooks({ backgroundReadyTimeoutMs: 500, releaseExitTimeoutMs: 500 }).beforeSnapshot(
          snap,
          [claim],
          signal(),
        ),
      );
      expect(error.message).toMatch(/did not reach \$\{WAIT_CMD\} within 500 ms in pod rules-\w+\/db-0/);
      // It reaches the wait only now, finds itself already released, and ends.
      await appendFile(gate, '');
      await waitForLines('slow.log', 'unlocked', 1);
    });

    it('a failed snapshot skips the post rule but releases background commands', async () => {
      const pre = await rule('rules', [
        {
          podSelector: { app: 'db' },
          actions: [
            {
              type: 'command',
              value: `\${WAIT_CMD}; ${append('snapfail.log', 'unlocked')}`,
              background: true,
            },
          ],
        },
      ]);
      const post = await rule('rules', [
        { actions: [{ type: 'command', value: append('snapfail.log', 'post') }] },
      ]);
      const snap = await snapshot(later(pre, post));
      const after = await hooks().beforeSnapshot(snap, [claim], signal());
      await after.afterSnapshot(false, signal());
      expect(await lines('snapfail.log')).toEqual(['unlocked', 'unlocked']);
      expect(await record(snap.metadata.name ?? '')).toBeUndefined();
    });

    it('a failing post rule is reported after background commands were released', async () => {
      const pre = await rule('rules', [
        {
          podSelector: { role: 'primary' },
          actions: [
            {
              type: 'command',
              value: `\${WAIT_CMD}; ${append('postfail.log', 'unlocked')}`,
              background: true,
            },
          ],
        },
      ]);
      const post = await rule('rules', [
        { podSelector: { role: 'primary' }, actions: [{ type: 'command', value: 'exit 6' }] },
      ]);
      const snap = await snapshot(later(pre, post));
      const after = await hooks().beforeSnapshot(snap, [claim], signal());
      const error = await failure(after.afterSnapshot(true, signal()));
      expect(error.message).toMatch(/^failed to run post-snap rule due to: .*exited with code 6/);
      expect(await lines('postfail.log')).toEqual(['unlocked']);
    });
  });

  it('a pod deleted while its command is held has nothing left to release', async () => {
    await ctx.box.api.create(
      resources.pods,
      testPod('scratch-0', { labels: { app: 'scratch' }, claims: ['scratch'], nodeName: 'node-1' }),
      ns,
    );
    await waitForPod(ctx.box.api, ns, 'scratch-0', isRunning);
    const pre = await rule('rules', [
      {
        actions: [
          { type: 'command', value: `\${WAIT_CMD}; ${append('gone.log', 'unlocked')}`, background: true },
        ],
      },
    ]);
    const snap = await snapshot(later(pre), 'scratch');
    const after = await hooks({ releaseExitTimeoutMs: 500 }).beforeSnapshot(snap, ['scratch'], signal());
    await ctx.box.api.delete(resources.pods, { namespace: ns, name: 'scratch-0' }, { gracePeriodSeconds: 0 });
    await waitFor(
      'scratch-0 to be gone',
      async () =>
        !(await ctx.box.api.list<Pod>(resources.pods, ns)).items.some(
          (p) => p.metadata?.name === 'scratch-0',
        ),
      { timeoutMs: 30_000 },
    );
    await after.afterSnapshot(true, signal());
    expect(await record(snap.metadata.name ?? '')).toBeUndefined();
    expect(await eventsOf(snap.metadata.name ?? '', 'RuleReleaseFailed')).toEqual([]);
    // On a real node the process went with its pod; here (KWOK) it runs on, and the cleanup releases it.
    expect(await lines('gone.log')).toEqual([]);
  });

  describe('a stork that stops while a background command holds its lock', () => {
    async function abandoned(file: string): Promise<VolumeSnapshot> {
      const pre = await rule('rules', [
        {
          podSelector: { app: 'db' },
          actions: [
            {
              type: 'command',
              value: `${append(file, 'locked')}; \${WAIT_CMD}; ${append(file, 'unlocked')}`,
              background: true,
            },
          ],
        },
      ]);
      const snap = await snapshot(later(pre));
      // This instance plays the stork that is killed: its afterSnapshot is never called.
      await hooks().beforeSnapshot(snap, [claim], signal());
      expect(await lines(file)).toEqual(['locked', 'locked']);
      return snap;
    }

    it('is released by the next stork from what was recorded on the snapshot', async () => {
      const snap = await abandoned('crash.log');
      const [task] = parseTasks((await record(snap.metadata.name ?? '')) ?? 'missing');
      expect(
        (await markers()).filter((f) => f.startsWith(`stork-cmd-done-${task?.taskID ?? ''}`)),
      ).toHaveLength(2);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // The lock is still held: nothing released it.
      expect(await lines('crash.log')).toEqual(['locked', 'locked']);

      const fresh = new KubeApi(ctx.box.kubeConfig());
      try {
        await hooks({}, fresh).recover(signal());
      } finally {
        fresh.close();
      }
      await waitForLines('crash.log', 'unlocked', 2);
      // The wait scripts have ended: each removes its done file on the way out.
      const taskID = task?.taskID ?? 'missing';
      expect((await markers()).filter((f) => f.startsWith(`stork-cmd-done-${taskID}`))).toEqual([]);
      expect(await record(snap.metadata.name ?? '')).toBeUndefined();
      const recovered = await eventsOf(snap.metadata.name ?? '', 'RuleRecovered');
      expect(recovered).toHaveLength(1);
    });

    it("also from Stork's own record (pod UIDs only)", async () => {
      const snap = await abandoned('crash-stork.log');
      const [task] = parseTasks((await record(snap.metadata.name ?? '')) ?? 'missing');
      const storkShape = {
        taskID: task?.taskID,
        pods: task?.pods.map((p) => ({ uid: p.uid, namespace: p.namespace })),
        container: 'main',
      };
      await ctx.box.api.patch(
        resources.volumeSnapshots,
        { namespace: ns, name: snap.metadata.name ?? '' },
        { metadata: { annotations: { [runningCommandsAnnotation]: JSON.stringify(storkShape) } } },
      );
      await hooks().recover(signal());
      await waitForLines('crash-stork.log', 'unlocked', 2);
      expect(await record(snap.metadata.name ?? '')).toBeUndefined();
    });

    it('leaves a record it cannot read in place, with a Warning', async () => {
      const snap = await snapshot({ [runningCommandsAnnotation]: '{"pods": "garbled"' });
      await hooks().recover(signal());
      expect(await record(snap.metadata.name ?? '')).toBe('{"pods": "garbled"');
      const warnings = await eventsOf(snap.metadata.name ?? '', 'RuleRecoveryFailed');
      expect(warnings[0]?.message).toMatch(/is not JSON/);
    });
  });
});
