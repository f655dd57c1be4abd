import { mkdtempSync, readFileSync } from 'node:fs';
import { appendFile, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningCommandsAnnotation } from '../../src/controllers/rules/tracking.js';
import type { Rule, RuleItem } from '../../src/k8s/crds/rule.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { SimulatorState, SimVolume } from '../../src/simulator/simulator-state.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { testRuleTimings } from './rule-fixtures.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';

/*
 * Stork's pre- and post-snapshot Rules through the real snapshot controller of an in-process stork
 * (running as the shipped ServiceAccount). KWOK runs every pod's exec on this host, so the rules'
 * commands append to files in a temporary directory; the simulator's snapshot call is watched so the
 * test knows what the commands had recorded at the moment the driver snapshot was taken.
 */

/** Where the background commands' wait scripts and done/kill files live (stork's `markerDir`). */
const markerDir = mkdtempSync(join(tmpdir(), 'stork-snaprules-markers-'));
const dir = mkdtempSync(join(tmpdir(), 'stork-snaprules-'));

/** What the commands had written, read at the instant the simulator took each driver snapshot. */
interface Taken {
  readonly volume: SimVolume;
  readonly at: number;
  readonly log: Record<string, string[]>;
}

const readLines = (file: string): string[] => {
  try {
    return readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
};

describe('snapshot rules run by the snapshot controller in stork', () => {
  const ctx = useStorkBox({
    box: { nodes: [{ name: 'node-1' }, { name: 'node-2' }] },
    stork: {
      rulesConfig: { markerDir, ...testRuleTimings },
    },
  });
  const api = () => ctx.box.api;
  const state = (): SimulatorState => ctx.storage.simulator.state;
  const claim = 'data';
  let ns = '';
  const taken: Taken[] = [];

  beforeAll(async () => {
    // Observe (not replace) the simulator's snapshot call: the SDK server calls it on this state object.
    const sim = state();
    const snapshotVolume = sim.snapshotVolume.bind(sim);
    sim.snapshotVolume = (volumeId, name, labels) => {
      const volume = snapshotVolume(volumeId, name, labels);
      const files = ['order.log', 'bg.log', 'early.log'];
      taken.push({ volume, at: Date.now(), log: Object.fromEntries(files.map((f) => [f, readLines(f)])) });
      return volume;
    };
    ns = await createTestNamespace(api(), 'snaprules');
    await createDriverVolume(ctx, ns, claim, ['node-1', 'node-2']);
    const pods: Pod[] = [
      testPod('db-0', { labels: { app: 'db' }, claims: [claim], nodeName: 'node-1' }),
      testPod('db-1', { labels: { app: 'db' }, claims: [claim], nodeName: 'node-2' }),
    ];
    for (const pod of pods) await api().create(resources.pods, pod, ns);
    for (const pod of pods) await waitForPod(api(), ns, pod.metadata?.name ?? '', isRunning);
  });

  afterAll(async () => {
    // Should a test have left a background command held, release it: it runs on this host.
    const waiting = (await readdir(markerDir).catch(() => [])).flatMap((f) => {
      const match = /^stork-wait-(.+)\.sh$/.exec(f);
      return match?.[1] ? [join(markerDir, `killme-${match[1]}`)] : [];
    });
    await Promise.all(waiting.map((file) => appendFile(file, '')));
    if (waiting.length > 0) await new Promise((resolve) => setTimeout(resolve, 2000));
    await rm(dir, { recursive: true, force: true });
    await rm(markerDir, { recursive: true, force: true });
  });

  /** A command that appends `what` and the time in milliseconds to `file`. */
  const record = (file: string, what: string): string =>
    `echo "${what} $(date +%s%3N)" >> ${join(dir, file)}`;
  const lines = async (file: string): Promise<string[]> =>
    (await readFile(join(dir, file), 'utf8').catch(() => '')).split('\n').filter((l) => l !== '');
  const words = (all: readonly string[]): string[] => all.map((l) => l.split(' ')[0] ?? '');
  const times = (all: readonly string[], word: string): number[] =>
    all.filter((l) => l.startsWith(`${word} `)).map((l) => Number(l.split(' ')[1]));

  let ruleCount = 0;
  async function rule(shape: 'spec' | 'rules', items: RuleItem[]): Promise<string> {
    const name = `rule-${++ruleCount}`;
    const body: Rule = {
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'Rule',
      metadata: { name },
      [shape]: items,
    };
    await api().create(resources.rules, body, ns);
    return name;
  }

  async function snapshot(name: string, annotations: Record<string, string>): Promise<VolumeSnapshot> {
    return api().create<VolumeSnapshot>(
      resources.volumeSnapshots,
      {
        apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name, annotations },
        spec: { persistentVolumeClaimName: claim },
      },
      ns,
    );
  }
  const later = (pre: string, post?: string): Record<string, string> => ({
    'stork.libopenstorage.org/pre-snapshot-rule': pre,
    ...(post ? { 'stork.libopenstorage.org/post-snapshot-rule': post } : {}),
  });
  const early = (pre: string, post?: string): Record<string, string> => ({
    'stork.rule/pre-snapshot': pre,
    ...(post ? { 'stork.rule/post-snapshot': post } : {}),
  });

  async function settled(name: string): Promise<VolumeSnapshot> {
    return waitFor(
      `snapshot ${ns}/${name} Ready or Error`,
      async () => {
        const s = await api().get<VolumeSnapshot>(resources.volumeSnapshots, { namespace: ns, name });
        const type = s.status?.conditions?.at(-1)?.type;
        return type === 'Ready' || type === 'Error' ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
  }

  /** The driver snapshots the simulator holds for a VolumeSnapshot (by stork's created-for label). */
  const driverSnapshotsOf = (name: string): SimVolume[] =>
    state()
      .volumes()
      .filter(
        (v) =>
          v.snapshot &&
          v.labels['kubernetes.io/created-for/snapshot/name'] === name &&
          v.labels['kubernetes.io/created-for/snapshot/namespace'] === ns,
      );
  const takenFor = (name: string): Taken | undefined =>
    taken.find((t) => t.volume.labels['kubernetes.io/created-for/snapshot/name'] === name);

  async function expectReady(name: string): Promise<{ snap: VolumeSnapshot; driver: SimVolume }> {
    const snap = await settled(name);
    const last = snap.status?.conditions?.at(-1);
    expect(last, JSON.stringify(snap.status)).toMatchObject({ type: 'Ready', status: 'True' });
    const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
      name: snap.spec.snapshotDataName ?? '',
    });
    const drivers = driverSnapshotsOf(name);
    expect(drivers.map((d) => d.id)).toEqual([data.spec.portworxVolume?.snapshotId]);
    return { snap, driver: drivers[0] as SimVolume };
  }

  it('runs the pre rule before the driver snapshot and the post rule after, in every pod using the claim', async () => {
    const pre = await rule('rules', [
      { podSelector: { app: 'db' }, actions: [{ type: 'command', value: record('order.log', 'pre') }] },
    ]);
    const post = await rule('rules', [
      { podSelector: { app: 'db' }, actions: [{ type: 'command', value: record('order.log', 'post') }] },
    ]);
    const started = Date.now();
    await snapshot('ordered', later(pre, post));
    const { driver } = await expectReady('ordered');
    const at = takenFor('ordered');
    // At the instant the driver snapshot was taken both pods had run the pre command, none the post one.
    expect(at?.log['order.log'] && words(at.log['order.log'])).toEqual(['pre', 'pre']);
    const all = await lines('order.log');
    expect(words(all)).toEqual(['pre', 'pre', 'post', 'post']);
    // The commands' own clocks say the same (the same host clock as the test's).
    for (const t of times(all, 'pre')) expect(t).toBeGreaterThanOrEqual(started - 5);
    for (const t of times(all, 'pre')) expect(t).toBeLessThanOrEqual(at?.at ?? 0);
    for (const t of times(all, 'post')) expect(t).toBeGreaterThanOrEqual(at?.at ?? Infinity);
    // The simulator's own record of when the driver snapshot was made agrees.
    for (const t of times(all, 'pre')) expect(t).toBeLessThanOrEqual(driver.createdAt);
    for (const t of times(all, 'post')) expect(t).toBeGreaterThanOrEqual(driver.createdAt);
  });

  it('holds a background pre command (early annotations, Rule items in spec) while the driver snapshot is taken', async () => {
    const pre = await rule('spec', [
      {
        podSelector: { app: 'db' },
        actions: [
          {
            type: 'command',
            value: `${record('bg.log', 'locked')}; \${WAIT_CMD}; ${record('bg.log', 'unlocked')}`,
            background: true,
          },
        ],
      },
    ]);
    const post = await rule('spec', [
      {
        podSelector: { app: 'db' },
        actions: [{ type: 'command', value: record('bg.log', 'post'), runInSinglePod: true }],
      },
    ]);
    await snapshot('held', early(pre, post));
    const { driver } = await expectReady('held');
    const at = takenFor('held');
    // Both commands were holding their lock (past "locked", not yet past ${WAIT_CMD}) when it was taken.
    expect(at?.log['bg.log'] && words(at.log['bg.log'])).toEqual(['locked', 'locked']);
    // Released afterwards, before the post rule ran (once: runInSinglePod); nothing is left recorded.
    const all = await waitFor(
      'both background commands past ${WAIT_CMD}',
      async () => {
        const l = await lines('bg.log');
        return words(l).filter((w) => w === 'unlocked').length === 2 ? l : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(words(all)).toEqual(['locked', 'locked', 'unlocked', 'unlocked', 'post']);
    for (const t of times(all, 'unlocked')) expect(t).toBeGreaterThanOrEqual(at?.at ?? Infinity);
    for (const t of times(all, 'locked')) expect(t).toBeLessThanOrEqual(driver.createdAt);
    for (const t of times(all, 'unlocked')) expect(t).toBeGreaterThanOrEqual(driver.createdAt);
    const current = await api().get<VolumeSnapshot>(resources.volumeSnapshots, {
      namespace: ns,
      name: 'held',
    });
    expect(current.metadata.annotations?.[runningCommandsAnnotation]).toBeUndefined();
    await waitFor('the wait scripts to end', async () => (await readdir(markerDir)).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
  });

  const stormError =
    /^snapshot failed due to err.+(failed to validate snap rule|failed to run (pre|post)-snap rule).+/;

  it('a failing pre rule puts the snapshot in Error, and no driver snapshot is taken', async () => {
    const pre = await rule('rules', [
      { podSelector: { app: 'db' }, actions: [{ type: 'command', value: 'echo broken >&2; exit 3' }] },
    ]);
    const post = await rule('rules', [{ actions: [{ type: 'command', value: record('fail.log', 'post') }] }]);
    await snapshot('failing', early(pre, post));
    const snap = await settled('failing');
    const last = snap.status?.conditions?.at(-1);
    expect(last?.type, JSON.stringify(snap.status)).toBe('Error');
    expect(last?.message).toMatch(stormError);
    expect(last?.message).toMatch(/failed to run pre-snap rule due to: .*exited with code 3: broken/);
    expect(driverSnapshotsOf('failing')).toEqual([]);
    expect(takenFor('failing')).toBeUndefined();
    expect(await lines('fail.log')).toEqual([]);
  });

  it.each([
    ['a Rule that does not exist', () => Promise.resolve('no-such-rule'), /no-such-rule not found/],
    [
      'an unsupported action type',
      () => rule('rules', [{ actions: [{ type: 'http', value: 'x' }] }]),
      /unsupported action type: http/,
    ],
  ])(
    '%s: Error "failed to validate snap rule", nothing runs, no driver snapshot',
    async (_what, make, why) => {
      const pre = await make();
      const post = await rule('rules', [
        { actions: [{ type: 'command', value: record('invalid.log', 'post') }] },
      ]);
      const name = `invalid-${++ruleCount}`;
      await snapshot(name, later(pre, post));
      const snap = await settled(name);
      const last = snap.status?.conditions?.at(-1);
      expect(last?.type, JSON.stringify(snap.status)).toBe('Error');
      expect(last?.message).toMatch(stormError);
      expect(last?.message).toMatch(/failed to validate snap rule due to: /);
      expect(last?.message).toMatch(why);
      expect(driverSnapshotsOf(name)).toEqual([]);
      expect(await lines('invalid.log')).toEqual([]);
    },
  );
});
