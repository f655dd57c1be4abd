import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Lease } from '../../src/wire/k8s-types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dueTimeAnnotation, scheduleNameAnnotation } from '../../src/controllers/schedule/names.js';
import { freePorts } from '../../src/box/ports.js';
import { startBoxStorage, type BoxStorage } from '../../src/box/storage.js';
import { startStorkProcess, type StorkProcess } from '../../src/box/stork-process.js';
import type { Rule } from '../../src/k8s/crds/rule.js';
import type { VolumeSnapshotSchedule } from '../../src/k8s/crds/volume-snapshot-schedule.js';
import type { VolumeSnapshot } from '../../src/k8s/crds/volume-snapshot.js';
import { isNotFound } from '../../src/k8s/errors.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import { createTestNamespace, isRunning, testPod, useBox, waitForPod } from './helpers.js';
import { createDriverVolume } from './stork-helpers.js';
import { runStorkctl } from '../../src/cli/program.js';

/*
 * Snapshot schedules end to end, in real minutes: two stork processes (the shipped ServiceAccount and
 * RBAC) over the simulator, a 1-minute interval policy with retain 2, pre/post rules whose commands (run
 * by KWOK on this host) append to files. The leader is killed mid-interval; the other replica goes on.
 * A shortened "minute" would prove the arithmetic of a made-up clock, not the schedule: this test takes
 * about four minutes.
 */

const dir = mkdtempSync(join(tmpdir(), 'stork-schedules-'));
const lines = (file: string): string[] => {
  try {
    return readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
};

describe('VolumeSnapshotSchedule: interval runs with retention, rules, failover, suspend and reclaim', () => {
  const ctx = useBox(() => ({ nodes: [{ name: 'node-1' }, { name: 'node-2' }] }));
  let storage: BoxStorage | undefined;
  const storks: StorkProcess[] = [];
  const children: ChildProcess[] = [];
  let ns = '';
  const claim = 'data';
  const driverSnapshots: string[] = [];
  /** Every scheduled snapshot ever seen, by name, with its due time. */
  const seen = new Map<string, string>();

  beforeAll(async () => {
    storage = await startBoxStorage(ctx.box);
    const sim = storage.simulator.state;
    const snapshotVolume = sim.snapshotVolume.bind(sim);
    sim.snapshotVolume = (volumeId, name, labels) => {
      driverSnapshots.push(name);
      return snapshotVolume(volumeId, name, labels);
    };
    const ports = await freePorts(2);
    for (const port of ports) {
      const stork = await startStorkProcess({ box: ctx.box, storage, extenderPort: port });
      storks.push(stork);
      children.push(stork.child);
    }
    ns = await createTestNamespace(ctx.box.api, 'schedules');
    await createDriverVolume({ box: ctx.box, storage }, ns, claim, ['node-1', 'node-2']);
    await ctx.box.api.create(
      resources.pods,
      testPod('db-0', { labels: { app: 'db' }, claims: [claim], nodeName: 'node-1' }),
      ns,
    );
    await waitForPod(ctx.box.api, ns, 'db-0', isRunning);
  }, 180_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await storage?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const api = () => ctx.box.api;
  /** storkctl, in this process, as the box's admin. */
  const storkctl = async (...args: string[]): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const code = await runStorkctl(['--kubeconfig', ctx.box.kubeconfigPath, '-n', ns, ...args], {
      out: (t) => (out += t),
      err: (t) => (err += t),
    });
    return { code, out, err };
  };
  const scheduled = async (): Promise<VolumeSnapshot[]> => {
    const list = await api().list<VolumeSnapshot>(resources.volumeSnapshots, ns);
    const mine = list.items.filter(
      (s) => s.metadata.annotations?.[scheduleNameAnnotation] === 'every-minute',
    );
    for (const s of mine) seen.set(s.metadata.name ?? '', s.metadata.annotations?.[dueTimeAnnotation] ?? '');
    return mine;
  };
  const ready = (s: VolumeSnapshot): boolean => s.status?.conditions?.at(-1)?.type === 'Ready';
  const leader = async (): Promise<string | undefined> => {
    try {
      return (await api().get<Lease>(resources.leases, { namespace: 'kube-system', name: 'stork' })).spec
        ?.holderIdentity;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  };
  const schedule = () =>
    api().get<VolumeSnapshotSchedule>(resources.volumeSnapshotSchedules, {
      namespace: ns,
      name: 'every-minute',
    });

  it("accepts Stork's YAML as it is, including Go's nulls", async () => {
    const file = join(dir, 'stork.yaml');
    writeFileSync(
      file,
      `apiVersion: stork.libopenstorage.org/v1alpha1
kind: SchedulePolicy
metadata:
  name: testpolicy
policy:
  interval:
    intervalMinutes: 60
  daily:
    time: "10:14PM"
  weekly:
    day: "Thursday"
    time: "10:13PM"
  monthly:
    date: 14
    time: "8:05PM"
---
apiVersion: stork.libopenstorage.org/v1alpha1
kind: NamespacedSchedulePolicy
metadata:
  name: testpolicy
  namespace: ${ns}
policy:
  interval: null
  daily:
    time: "12:00AM"
    retain: 0
    options: null
    forceFullSnapshotDay: ""
  weekly: null
  monthly: null
---
apiVersion: stork.libopenstorage.org/v1alpha1
kind: VolumeSnapshotSchedule
metadata:
  name: mysql-snapshot-schedule
  namespace: ${ns}
  annotations:
    portworx/snapshot-type: local
spec:
  template:
    spec:
      persistentVolumeClaimName: mysql-data
  schedulePolicyName: testpolicy
  suspend: null
  reclaimPolicy: Delete
  preExecRule: mysql-presnap-rule
  postExecRule: mysql-postsnap-rule
`,
    );
    const out = await ctx.box.kubectl(['apply', '--dry-run=server', '-f', file]);
    expect(out.split('\n').filter((l) => l.includes('created (server dry run)'))).toHaveLength(3);
  });

  it('takes one snapshot per minute with the rules, keeps the newest 2, and survives the leader being killed', async () => {
    const rule = (name: string, word: string): Rule => ({
      apiVersion: 'stork.libopenstorage.org/v1alpha1',
      kind: 'Rule',
      metadata: { name },
      rules: [
        {
          podSelector: { app: 'db' },
          actions: [{ type: 'command', value: `echo ${word} >> ${join(dir, `${word}.log`)}` }],
        },
      ],
    });
    await api().create(resources.rules, rule('freeze', 'pre'), ns);
    await api().create(resources.rules, rule('thaw', 'post'), ns);
    // Made with storkctl, as users do.
    expect(
      await storkctl(
        'create',
        'schedulepolicy',
        `minute-${ns}`,
        '-t',
        'Interval',
        '-i',
        '1',
        '--retain',
        '2',
      ),
    ).toEqual({
      code: 0,
      out: `Schedule policy minute-${ns} created successfully\n`,
      err: '',
    });
    const created = await storkctl(
      'create',
      'volumesnapshotschedule',
      'every-minute',
      '-p',
      claim,
      '-s',
      `minute-${ns}`,
      '--preExecRule',
      'freeze',
      '--postExecRule',
      'thaw',
      '--reclaimPolicy',
      'Delete',
    );
    expect(created).toEqual({
      code: 0,
      out: 'VolumeSnapshotSchedule every-minute created successfully\n',
      err: '',
    });

    // The first run is taken at once.
    const first = await waitFor(
      'the first scheduled snapshot Ready',
      async () => (await scheduled()).find(ready),
      {
        timeoutMs: 60_000,
      },
    );
    expect(first.metadata.annotations?.['stork.libopenstorage.org/pre-snapshot-rule']).toBe('freeze');
    expect(first.metadata.ownerReferences?.[0]?.kind).toBe('VolumeSnapshotSchedule');

    // Kill the leader mid-interval; the other replica leads and takes the next runs.
    const identities = new Map(storks.map((s) => [`${hostname()}_${s.child.pid ?? 0}`, s]));
    const holder = await waitFor(
      'a leader',
      async () => {
        const h = await leader();
        return h && identities.has(h) ? h : undefined;
      },
      { timeoutMs: 30_000 },
    );
    identities.get(holder)?.child.kill('SIGKILL');

    // Two more minutes: three runs in all, the oldest deleted by retention once the third is Ready.
    const final = await waitFor(
      'three runs taken and the newest two kept',
      async () => {
        const now = await scheduled();
        return seen.size >= 3 && now.length === 2 && now.every(ready) ? now : undefined;
      },
      { timeoutMs: 200_000, intervalMs: 1000 },
    );
    expect(await leader()).not.toBe(holder);
    const dues = [...seen.values()].sort();
    expect(dues).toHaveLength(3);
    // Exactly one snapshot per due time, the due times a minute apart: none taken twice, none skipped.
    expect(new Set(dues).size).toBe(3);
    const ms = dues.map((d) => Date.parse(d));
    expect(ms.slice(1).map((m, i) => m - (ms[i] ?? 0))).toEqual([60_000, 60_000]);
    expect(final.map((s) => s.metadata.annotations?.[dueTimeAnnotation]).sort()).toEqual(dues.slice(1));
    expect(driverSnapshots).toHaveLength(3);
    // The rules ran for each snapshot.
    expect(lines('pre.log')).toHaveLength(3);
    expect(lines('post.log')).toHaveLength(3);

    const status = (await schedule()).status;
    expect(status?.items?.Interval?.map((i) => i.name).sort()).toEqual(
      final.map((s) => s.metadata.name).sort(),
    );
    expect(status?.items?.Interval?.every((i) => i.status === 'Ready' && i.finishTimestamp)).toBe(true);
    expect(status?.lastSnapshotName).toBe(
      [...seen.entries()].sort((a, b) => a[1].localeCompare(b[1]))[2]?.[0],
    );
    // kubectl shows the policy, suspend and the last snapshot.
    const table = await ctx.box.kubectl(['get', 'volumesnapshotschedules', '-n', ns]);
    expect(table).toMatch(/NAME\s+PVC\s+POLICY\s+SUSPEND\s+LAST-SNAPSHOT/);
    expect(table).toContain(`every-minute   data   minute-${ns}`);
    expect(table).toContain(status?.lastSnapshotName ?? '<none>');
  }, 300_000);

  it('suspend takes no new snapshots; resume goes on', async () => {
    await api().patch(
      resources.volumeSnapshotSchedules,
      { namespace: ns, name: 'every-minute' },
      { spec: { suspend: true } },
    );
    const before = seen.size;
    // A little over a minute: at least one slot passes while suspended.
    await new Promise((resolve) => setTimeout(resolve, 75_000));
    await scheduled();
    expect(seen.size).toBe(before);
    expect((await schedule()).status?.conditions?.[0]?.reason).toBe('Suspended');
    await api().patch(
      resources.volumeSnapshotSchedules,
      { namespace: ns, name: 'every-minute' },
      { spec: { suspend: false } },
    );
    // The slot missed while suspended is taken once, at once.
    await waitFor('a run after resume', async () => (await scheduled(), seen.size === before + 1), {
      timeoutMs: 30_000,
      intervalMs: 500,
    });
    await waitFor('it Ready', async () => (await scheduled()).every(ready), { timeoutMs: 30_000 });
    expect(lines('pre.log')).toHaveLength(before + 1);
    expect(lines('post.log')).toHaveLength(before + 1);
  }, 150_000);

  it('deleting the schedule with reclaimPolicy Delete removes its snapshots', async () => {
    await waitFor('every scheduled snapshot settled', async () => (await scheduled()).every(ready), {
      timeoutMs: 60_000,
    });
    // The policy cannot go while the schedule uses it.
    const refused = await storkctl('delete', 'schedulepolicy', `minute-${ns}`);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`Volume Snapshot Schedules : ${ns}/every-minute`);
    const listed = await storkctl('get', 'volumesnapshotschedules');
    expect(listed.out).toMatch(
      new RegExp(
        `^every-minute\\s+data\\s+minute-${ns}\\s+freeze\\s+thaw\\s+Delete\\s+false\\s+\\d\\d \\w{3} \\d\\d`,
        'm',
      ),
    );
    expect((await storkctl('delete', 'volumesnapshotschedules', 'every-minute')).code).toBe(0);
    await waitFor('the schedule’s snapshots gone', async () => (await scheduled()).length === 0, {
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    expect((await storkctl('delete', 'schedulepolicy', `minute-${ns}`)).out).toBe(
      `Schedule policy minute-${ns} deleted successfully\n`,
    );
    for (const stork of storks) expect(stork.refusals).toEqual([]);
  }, 120_000);
});
