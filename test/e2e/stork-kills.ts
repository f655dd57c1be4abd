import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import type { Box } from '../../src/box/box.js';
import type { BoxCsi } from '../../src/box/csi/box-csi.js';
import { freePorts } from '../../src/box/ports.js';
import { rulesInFlightAnnotation } from '../../src/controllers/snapshot/rules-in-flight.js';
import type { KubeApi } from '../../src/k8s/api.js';
import type { GroupVolumeSnapshot } from '../../src/k8s/crds/group-volume-snapshot.js';
import type { ResourceType } from '../../src/k8s/paths.js';
import { resources } from '../../src/k8s/paths.js';
import { startStorkProcess, type StorkProcess } from '../../src/box/stork-process.js';
import { waitFor } from '../../src/lib/wait.js';
import { useBox } from './helpers.js';

/*
 * What the tests that SIGKILL stork in the middle of its work share (issue #17): stork as a real process
 * that a test kills and starts anew, and rule commands that block where the test wants stork killed,
 * writing marker lines the test reads. KWOK runs a pod's exec on this host, so the rules' commands see
 * the test's files.
 */

/** Short leases: a new stork leads soon after the old one was killed without releasing its Lease. */
export const killTestStorkArgs = [
  '--leader-elect-lease-duration=8000ms',
  '--leader-elect-renew-deadline=6000ms',
  '--leader-elect-retry-period=1000ms',
  '--rule-command-timeout=15',
  '--rule-command-attempts=2',
] as const;

const leading = 'leading: starting leader-only components';

export interface KillableStork {
  /** Starts a stork process and resolves once it leads (its leader-only controllers run). */
  readonly start: () => Promise<void>;
  /** SIGKILL: no drain, no Lease release, nothing finished; then a new stork, once `between` has run. */
  readonly kill: (between?: () => Promise<void>) => Promise<void>;
  /** The stork running now, if any. */
  readonly current: () => StorkProcess | undefined;
  /** Stork's latest log lines (all of its processes), for a failing test to show. */
  readonly recent: readonly string[];
}

export function killableStork(options: {
  readonly box: () => Box;
  readonly storage: { readonly csiDrivers: readonly string[] };
  readonly extenderPort: () => number;
}): KillableStork {
  let stork: StorkProcess | undefined;
  const recent: string[] = [];
  const start = async (): Promise<void> => {
    let leads = false;
    stork = await startStorkProcess({
      box: options.box(),
      storage: options.storage,
      extenderPort: options.extenderPort(),
      args: killTestStorkArgs,
      showLogs: process.env.STORK_TEST_VERBOSE === '1',
      onLogLine: (line) => {
        recent.push(line);
        if (recent.length > 300) recent.shift();
        if (line.includes(leading)) leads = true;
      },
    });
    await waitFor('the new stork to lead', () => leads, { timeoutMs: 60_000, intervalMs: 100 });
  };
  return {
    start,
    kill: async (between = () => Promise.resolve()) => {
      const child = stork?.child;
      expect(stork?.refusals).toEqual([]);
      if (child && child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      await between();
      await start();
    },
    current: () => stork,
    recent,
  };
}

/** Waits until the API server serves `resource` and Rules: the stork process installed its CRDs. */
export async function storkCrdsServed(api: KubeApi, resource: ResourceType): Promise<void> {
  await waitFor(
    "stork's CRDs served",
    async () =>
      (await api
        .list(resource, 'default')
        .then(() => api.list(resources.rules, 'default'))
        .then(
          () => true,
          () => false,
        )) || undefined,
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

/** A failing test of the file shows the killed and restarted storks' latest log lines. */
export function showStorkLogOnFailure(stork: KillableStork): void {
  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => {
      process.stderr.write(`--- stork's last log lines ---\n${stork.recent.join('\n')}\n--- end ---\n`);
    });
  });
}

/** What {@link useKillBox} gives a test file. */
export interface KillBox {
  readonly api: () => KubeApi;
  /** The box's CSI parts, once the file's beforeAll has started them. */
  readonly csi: () => BoxCsi | undefined;
  readonly stork: KillableStork;
  /** A directory of the test's own (markers, unpacked archives), removed after the file. */
  readonly workDir: string;
}

/**
 * A box for a file of kill tests: its nodes, the CSI parts `startCsi` starts, a killable stork on
 * `csiDrivers` leading with its CRDs served (`served`), then `setup`; after the file, stork killed, the
 * CSI parts stopped and the work directory removed; a failing test shows stork's latest log lines.
 */
export function useKillBox(options: {
  readonly nodes: readonly string[];
  readonly csiDrivers: readonly string[];
  readonly startCsi: (box: Box) => Promise<BoxCsi>;
  readonly served: ResourceType;
  readonly workDirPrefix: string;
  readonly setup?: (api: KubeApi) => Promise<void>;
}): KillBox {
  const ctx = useBox(() => ({ nodes: options.nodes.map((name) => ({ name })) }));
  const api = (): KubeApi => ctx.box.api;
  const workDir = mkdtempSync(join(tmpdir(), options.workDirPrefix));
  let csi: BoxCsi | undefined;
  let port = 0;
  const stork = killableStork({
    box: () => ctx.box,
    storage: { csiDrivers: options.csiDrivers },
    extenderPort: () => port,
  });

  beforeAll(async () => {
    [port = 0] = await freePorts(1);
    csi = await options.startCsi(ctx.box);
    await stork.start();
    // Stork installs its CRDs when it starts.
    await storkCrdsServed(api(), options.served);
    await options.setup?.(api());
  }, 900_000);

  afterAll(async () => {
    stork.current()?.child.kill('SIGKILL');
    await csi?.stop();
    await rm(workDir, { recursive: true, force: true });
  });

  showStorkLogOnFailure(stork);
  return { api, csi: () => csi, stork, workDir };
}

/** The kill files' GroupVolumeSnapshot `group` of the claims labelled app=db, with these rules, and a reader. */
export function killedGroup(api: () => KubeApi, namespace: () => string) {
  return {
    create: async (preExecRule: string, postExecRule: string): Promise<void> => {
      await api().create<GroupVolumeSnapshot>(
        resources.groupVolumeSnapshots,
        {
          apiVersion: 'stork.libopenstorage.org/v1alpha1',
          kind: 'GroupVolumeSnapshot',
          metadata: { name: 'group' },
          spec: { pvcSelector: { matchLabels: { app: 'db' } }, preExecRule, postExecRule },
        },
        namespace(),
      );
    },
    read: () =>
      api().get<GroupVolumeSnapshot>(resources.groupVolumeSnapshots, {
        namespace: namespace(),
        name: 'group',
      }),
  };
}

/**
 * Waits until the group is Final and checks it ended Successful on its first attempt, with no record of
 * rules in flight left: what a group snapshot that stork was killed in the middle of must end as.
 */
export async function finalOnFirstAttempt(
  read: () => Promise<GroupVolumeSnapshot>,
): Promise<GroupVolumeSnapshot> {
  const done = await waitFor(
    'the group Final',
    async () => {
      const g = await read();
      return g.status?.stage === 'Final' ? g : undefined;
    },
    { timeoutMs: 240_000, intervalMs: 250 },
  );
  expect(done.status?.status, JSON.stringify(done.status)).toBe('Successful');
  expect(done.status?.numRetries ?? 0).toBe(0);
  expect(done.metadata.annotations?.[rulesInFlightAnnotation]).toBeUndefined();
  return done;
}

/** Marker lines that rule commands write into a file of the test, and the file that lets them through. */
export interface Markers {
  /** The lines written, in order. */
  readonly lines: () => string[];
  /** How many lines are exactly `line`. */
  readonly count: (line: string) => number;
  /** A shell command writing the line `word`. */
  readonly mark: (word: string) => string;
  /**
   * A rule command that writes `<word>-started`, then runs `work` if the go file exists, else waits for it
   * (30 s at most) and fails: the run stork is killed in never does `work`, even if it outlives stork.
   */
  readonly blocking: (word: string, work: string) => string;
  /** Lets the blocked command of a later run through. */
  readonly go: () => Promise<void>;
  /** Resolves once `line` was written. */
  readonly seen: (line: string) => Promise<void>;
}

/** Markers in a new directory `dir`. */
export async function markersIn(dir: string): Promise<Markers> {
  await mkdir(dir, { recursive: true });
  const log = join(dir, 'rules.log');
  const goFile = join(dir, 'go');
  const lines = (): string[] =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
      : [];
  const mark = (word: string): string => `echo ${word} >> ${log}`;
  return {
    lines,
    count: (line) => lines().filter((l) => l === line).length,
    mark,
    blocking: (word, work) =>
      `${mark(`${word}-started`)}; if [ -e ${goFile} ]; then ${work}; else i=0; ` +
      `while [ ! -e ${goFile} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; exit 1; fi`,
    go: () => writeFile(goFile, ''),
    seen: async (line) => {
      await waitFor(`the rules' marker ${line}`, () => lines().includes(line), {
        timeoutMs: 90_000,
        intervalMs: 50,
      });
    },
  };
}
