// Scheduling throughput in the box at 1,000 KWOK nodes: the stork scheduler (kube-scheduler with the
// shipped configuration, calling stork's extender for every pod) against the default scheduler, on the
// same cluster. Each scheduler is stopped while its pods are created and started once they all exist,
// so what is timed is scheduling alone: from the first pod bound to the last.
// The two run in turn over ROUNDS (≥ 3) rounds in the same box, the order alternating, so that one
// noisy round does not decide: min / median / max of each rate and of the ratio are reported.
// BENCH_STORK_ARGS passes flags to stork (e.g. --record-decisions=false); BENCH_LABEL names the result
// (bench/results/scheduling[-LABEL].json: {nodes, pods, rounds, per-round figures, spreads}).
// BENCH_CLAIMS=csi: the pods' claim is a CSI driver's, through stork's csi driver (bench/scheduling-csi.ts);
// writes bench/results/scheduling-csi[-LABEL].json, with `claims: "csi"`.
import { writeFile } from 'node:fs/promises';
import type { Pod } from '../src/wire/k8s-types.js';
import { Box, createNamespace } from '../src/box/box.js';
import { topologyNodes } from '../src/box/nodes.js';
import { freePorts } from '../src/box/ports.js';
import { startBoxStorage } from '../src/box/storage.js';
import { startStorkProcess } from '../src/box/stork-process.js';
import type { KubeApi } from '../src/k8s/api.js';
import { resources } from '../src/k8s/paths.js';
import { waitFor } from '../src/lib/wait.js';
import { createCsiBenchClaim, csiStorkArgs } from './scheduling-csi.js';
import { cell, loadAverage, machine, printTable, round, spread } from './stats.js';

const nodeCount = Number(process.env.BENCH_NODES ?? 1000);
const podCount = Number(process.env.BENCH_PODS ?? 500);
const namespace = 'bench';
const rounds = Math.max(3, Number(process.env.ROUNDS ?? 3));
const storkArgs = (process.env.BENCH_STORK_ARGS ?? '').split(' ').filter(Boolean);
const claims = process.env.BENCH_CLAIMS === 'csi' ? 'csi' : 'pxd';
const label = `${claims === 'csi' ? '-csi' : ''}${process.env.BENCH_LABEL ? `-${process.env.BENCH_LABEL}` : ''}`;

async function createPods(api: KubeApi, schedulerName: string, claim: string, round: number): Promise<void> {
  const queue = Array.from({ length: podCount }, (_, i) => i);
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: `${schedulerName}-r${round}-${i}`,
          labels: { bench: schedulerName, round: String(round) },
        },
        spec: {
          schedulerName,
          containers: [
            { name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu: '10m' } } },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
        },
      };
      await api.create(resources.pods, pod, namespace);
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
}

/** User + system CPU seconds a process has used so far (Linux). */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const stat = await readFile(`/proc/${pid ?? 0}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

/**
 * The API server's own counters: write requests on pods and on SchedulingDecisions, and watch events of
 * pods sent to watchers (each pod write reaches every pod watcher: schedulers, controller manager, KWOK,
 * stork). Differences over a run say what recording costs the cluster.
 */
async function apiCounters(api: KubeApi): Promise<Record<string, number>> {
  const response = await api.stream('/metrics');
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const sum = (pattern: RegExp): number => {
    let total = 0;
    for (const line of text.split('\n')) if (pattern.test(line)) total += Number(line.split(' ').at(-1));
    return total;
  };
  return {
    pod_writes: sum(/^apiserver_request_total\{.*resource="pods".*verb="(PATCH|PUT)"/),
    decision_writes: sum(/^apiserver_request_total\{.*resource="schedulingdecisions".*verb="(POST|PUT)"/),
    pod_watch_events: sum(/^apiserver_watch_events_total\{.*(kind="Pod"|resource="pods")/),
  };
}

const perPod = (before: Record<string, number>, after: Record<string, number>) =>
  Object.fromEntries(
    Object.keys(after).map((k) => [k, round(((after[k] ?? 0) - (before[k] ?? 0)) / podCount, 2)]),
  );

/** Pods per second from the first bound pod to the last, polling the API every 100 ms. */
async function timeScheduling(
  api: KubeApi,
  schedulerName: string,
  round: number,
  start: () => Promise<void>,
): Promise<number> {
  await start();
  let first: number | undefined;
  let last = 0;
  await waitFor(
    `${podCount} ${schedulerName} pods bound`,
    async () => {
      const list = await api.list<Pod>(resources.pods, namespace, {
        labelSelector: `bench=${schedulerName},round=${round}`,
        fieldSelector: 'spec.nodeName!=',
      });
      const now = performance.now();
      if (list.items.length > 0) first ??= now;
      last = now;
      return list.items.length >= podCount;
    },
    { timeoutMs: 600_000, intervalMs: 100 },
  );
  const seconds = (last - (first ?? last)) / 1000;
  return seconds > 0 ? podCount / seconds : Number.POSITIVE_INFINITY;
}

const [extenderPort = 0] = await freePorts(1);
console.error(`starting a box with ${nodeCount} nodes`);
const benchNodes = topologyNodes(nodeCount, { racks: 20, zones: 3 });
const box = await Box.start({
  nodes: benchNodes,
  storkScheduler: { urlPrefix: `http://127.0.0.1:${extenderPort}`, shipped: true },
});
const storage = await startBoxStorage(box);
// Stork in its own process, as in a cluster: it must not share an event loop with this benchmark.
const stork = await startStorkProcess({
  box,
  storage,
  extenderPort,
  nodeFlags: (process.env.BENCH_STORK_NODE_FLAGS ?? '').split(' ').filter(Boolean),
  args: claims === 'csi' ? [...csiStorkArgs, ...storkArgs] : storkArgs,
  showLogs: true,
});
const storkPid = stork.child.pid;
try {
  await createNamespace(box.api, namespace);
  await box.api.create(resources.storageClasses, {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: 'px-bench' },
    provisioner: 'pxd.portworx.com',
    parameters: { repl: '3' },
  });
  await box.api.create(
    resources.persistentVolumeClaims,
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: {
        storageClassName: 'px-bench',
        accessModes: ['ReadWriteMany'],
        resources: { requests: { storage: '1Gi' } },
      },
    },
    namespace,
  );
  await waitFor(
    'the bench claim to bind',
    async () => {
      const pvc = await box.api.get<{ status?: { phase?: string } }>(resources.persistentVolumeClaims, {
        namespace,
        name: 'data',
      });
      return pvc.status?.phase === 'Bound';
    },
    { timeoutMs: 60_000 },
  );
  const claim =
    claims === 'csi'
      ? await createCsiBenchClaim(
          box.api,
          namespace,
          benchNodes.map((n) => n.name),
        )
      : 'data';
  // Let stork's driver cache pick up the new volume (it refreshes every 5 s by default).
  await new Promise((resolve) => setTimeout(resolve, 6000));

  interface RoundFigures {
    default_pods_per_s: number;
    stork_pods_per_s: number;
    ratio: number;
    stork_cpu_ms_per_pod: number;
    stork_idle_cpu_percent: number;
    /** API server counters over the stork run (and 2 s after), per pod: see apiCounters. */
    api_per_stork_pod: Record<string, number>;
    load_average: string;
  }
  const perRound: RoundFigures[] = [];
  for (let r = 0; r < rounds; r++) {
    // Both schedulers stop; all pods are created; then each scheduler starts and is timed alone.
    await box.stopComponent('kube-scheduler');
    await box.stopComponent('stork-scheduler');
    console.error(`round ${r + 1}/${rounds}: creating ${podCount} pods for each scheduler`);
    // The same pod, with the same driver volume, for both: only the scheduler differs.
    await createPods(box.api, 'default-scheduler', claim, r);
    await createPods(box.api, 'stork', claim, r);
    const timeDefault = async (): Promise<{ rate: number; idleCpu: number }> => {
      const before = await cpuSeconds(storkPid);
      const started = performance.now();
      const rate = await timeScheduling(box.api, 'default-scheduler', r, () =>
        box.restartComponent('kube-scheduler'),
      );
      const idleCpu = ((await cpuSeconds(storkPid)) - before) / ((performance.now() - started) / 1000);
      return { rate, idleCpu };
    };
    let apiPerPod: Record<string, number> = {};
    const timeStork = async (): Promise<{ rate: number; cpu: number }> => {
      const before = await cpuSeconds(storkPid);
      const counters = await apiCounters(box.api);
      const rate = await timeScheduling(box.api, 'stork', r, () => box.restartComponent('stork-scheduler'));
      // Decisions settle for half a second before they are written.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      apiPerPod = perPod(counters, await apiCounters(box.api));
      return { rate, cpu: (await cpuSeconds(storkPid)) - before };
    };
    // The order alternates: whichever runs second finds the other's pods bound and its events settling.
    let d: { rate: number; idleCpu: number };
    let s: { rate: number; cpu: number };
    if (r % 2 === 0) {
      d = await timeDefault();
      s = await timeStork();
    } else {
      s = await timeStork();
      d = await timeDefault();
    }
    const figures: RoundFigures = {
      default_pods_per_s: round(d.rate, 1),
      stork_pods_per_s: round(s.rate, 1),
      ratio: round(s.rate / d.rate, 3),
      stork_cpu_ms_per_pod: round((s.cpu / podCount) * 1000, 2),
      stork_idle_cpu_percent: round(d.idleCpu * 100, 1),
      api_per_stork_pod: apiPerPod,
      load_average: await loadAverage(),
    };
    console.error(`round ${r + 1}: ${JSON.stringify(figures)}`);
    perRound.push(figures);
  }

  const of = (key: keyof Omit<RoundFigures, 'load_average' | 'api_per_stork_pod'>) =>
    spread(perRound.map((f) => f[key]));
  const result = {
    nodes: nodeCount,
    pods: podCount,
    rounds,
    claims,
    stork_args: storkArgs,
    default_pods_per_s: of('default_pods_per_s'),
    stork_pods_per_s: of('stork_pods_per_s'),
    ratio: of('ratio'),
    stork_cpu_ms_per_pod: of('stork_cpu_ms_per_pod'),
    stork_idle_cpu_percent: of('stork_idle_cpu_percent'),
    per_round: perRound,
  };
  printTable([
    {
      nodes: nodeCount,
      pods: podCount,
      rounds,
      'default pods/s (min/med/max)': cell(result.default_pods_per_s),
      'stork pods/s': cell(result.stork_pods_per_s),
      ratio: cell(result.ratio),
      'stork CPU ms/pod': cell(result.stork_cpu_ms_per_pod),
    },
  ]);
  await writeFile(
    new URL(`./results/scheduling${label}.json`, import.meta.url),
    JSON.stringify(result, null, 2) + '\n',
  );
  await writeFile(
    new URL(`./results/scheduling${label}.machine.json`, import.meta.url),
    JSON.stringify(
      {
        ...(await machine()),
        command: `${claims === 'csi' ? 'BENCH_CLAIMS=csi ' : ''}${storkArgs.length ? `BENCH_STORK_ARGS='${storkArgs.join(' ')}' ` : ''}npm run bench -- scheduling`,
      },
      null,
      2,
    ) + '\n',
  );
} finally {
  await stork.stop();
  await storage.stop();
  await box.stop();
}
