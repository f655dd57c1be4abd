import { mkdtempSync, readFileSync } from 'node:fs';
import { appendFile, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runningCommandsAnnotation } from '../../src/controllers/rules/tracking.js';
import { rulesInFlightAnnotation } from '../../src/controllers/snapshot/rules-in-flight.js';
import type { VolumeSnapshot, VolumeSnapshotData } from '../../src/k8s/crds/volume-snapshot.js';
import { resources } from '../../src/k8s/paths.js';
import { waitFor } from '../../src/lib/wait.js';
import type { SimulatorState, SimVolume } from '../../src/simulator/simulator-state.js';
import { createTestNamespace, isRunning, testPod, waitForPod } from './helpers.js';
import { ruleCreator, testRuleTimings } from './rule-fixtures.js';
import { createDriverVolume, useStorkBox } from './stork-helpers.js';

/*
 * A stork that stops between a snapshot's cut and its post rule: the next one runs the post rule. KWOK
 * runs a pod's exec on this host, so the rules write marker files in a temporary directory. The window is
 * made, not raced: the post rule's command blocks in the first stork (until a file the test writes) and
 * the test stops stork while it blocks, which is where a stork losing its leadership stops.
 */

const markerDir = mkdtempSync(join(tmpdir(), 'stork-rulerestart-markers-'));
const dir = mkdtempSync(join(tmpdir(), 'stork-rulerestart-'));
const log = join(dir, 'rules.log');
const go = join(dir, 'go');

const readLines = (): string[] => {
  try {
    return readFileSync(log, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
};

describe('snapshot rules across a stork restart', () => {
  const ctx = useStorkBox({
    box: { nodes: [{ name: 'node-1' }] },
    stork: { rulesConfig: { markerDir, ...testRuleTimings } },
  });
  const api = () => ctx.box.api;
  const state = (): SimulatorState => ctx.storage.simulator.state;
  const claim = 'data';
  let ns = '';
  /** The marker lines as they were at the instant the simulator cut each driver snapshot. */
  const atCut: string[][] = [];
  const rule = ruleCreator(api, () => ns);

  beforeAll(async () => {
    const sim = state();
    const snapshotVolume = sim.snapshotVolume.bind(sim);
    sim.snapshotVolume = (volumeId, name, labels) => {
      atCut.push(readLines());
      return snapshotVolume(volumeId, name, labels);
    };
    ns = await createTestNamespace(api(), 'rulerestart');
    await createDriverVolume(ctx, ns, claim, ['node-1']);
    await api().create(
      resources.pods,
      testPod('db-0', { labels: { app: 'db' }, claims: [claim], nodeName: 'node-1' }),
      ns,
    );
    await waitForPod(api(), ns, 'db-0', isRunning);
  });

  afterAll(async () => {
    await writeFile(go, '');
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

  const echo = (what: string): string => `echo ${what} >> ${log}`;
  const get = (name: string) => api().get<VolumeSnapshot>(resources.volumeSnapshots, { namespace: ns, name });

  it('the post rule of a snapshot cut before stork stopped runs on the next stork, once; then Ready', async () => {
    const pre = await rule([
      {
        podSelector: { app: 'db' },
        actions: [
          {
            type: 'command',
            value: `${echo('frozen')}; \${WAIT_CMD}; ${echo('released')}`,
            background: true,
          },
        ],
      },
    ]);
    // Each run logs that it started; it thaws at once if `go` exists, else waits for it (up to 30 s) and
    // fails without thawing: the first stork's run, stopped while it waits, never thaws.
    const post = await rule([
      {
        podSelector: { app: 'db' },
        actions: [
          {
            type: 'command',
            value:
              `${echo('post-started')}; if [ -e ${go} ]; then ${echo('thawed')}; else i=0; ` +
              `while [ ! -e ${go} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 1; fi`,
          },
        ],
      },
    ]);
    await api().create<VolumeSnapshot>(
      resources.volumeSnapshots,
      {
        apiVersion: 'volumesnapshot.external-storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: {
          name: 'frozen',
          annotations: {
            'stork.libopenstorage.org/pre-snapshot-rule': pre,
            'stork.libopenstorage.org/post-snapshot-rule': post,
          },
        },
        spec: { persistentVolumeClaimName: claim },
      },
      ns,
    );
    await waitFor('the first stork in the post rule', () => readLines().includes('post-started'), {
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    // The cut happened under the hold, which the first stork released before its post rule.
    expect(atCut).toEqual([['frozen']]);
    const cutRecord = (await get('frozen')).metadata.annotations?.[rulesInFlightAnnotation];
    expect(cutRecord).toBe('{"pre":"done","cut":true}');
    await ctx.stopStork();
    expect((await get('frozen')).status?.conditions?.at(-1)?.type).toBe('Pending');
    await writeFile(go, '');
    await ctx.startStork();

    const ready = await waitFor(
      'snapshot Ready',
      async () => {
        const s = await get('frozen');
        return s.status?.conditions?.at(-1)?.type === 'Ready' && s.spec.snapshotDataName ? s : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    const lines = readLines();
    expect(lines.filter((l) => l === 'thawed')).toEqual(['thawed']);
    expect(lines.filter((l) => l === 'post-started')).toEqual(['post-started', 'post-started']);
    expect(lines.filter((l) => l === 'frozen')).toEqual(['frozen']);
    // The snapshot handed out is the one cut under the hold: no second cut.
    expect(atCut).toHaveLength(1);
    const data = await api().get<VolumeSnapshotData>(resources.volumeSnapshotDatas, {
      name: ready.spec.snapshotDataName ?? '',
    });
    const drivers = state()
      .volumes()
      .filter(
        (v: SimVolume) =>
          v.snapshot &&
          v.labels['kubernetes.io/created-for/snapshot/name'] === 'frozen' &&
          v.labels['kubernetes.io/created-for/snapshot/namespace'] === ns,
      );
    expect(drivers.map((d) => d.id)).toEqual([data.spec.portworxVolume?.snapshotId]);
    expect(ready.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
    expect(ready.metadata.annotations?.[runningCommandsAnnotation]).toBeUndefined();
    expect(await readFile(log, 'utf8')).toContain('released');
  });
});
