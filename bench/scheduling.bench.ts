// Scheduling throughput in the box at 1,000 KWOK nodes: the stork scheduler (kube-scheduler with the
// shipped configuration, calling stork's extender for every pod) against the default scheduler, on the
// same cluster. Each scheduler is stopped while its pods are created and started once they all exist,
// so what is timed is scheduling alone: from the first pod bound to the last.
// Writes bench/results/scheduling.json: {nodes, pods, stork_pods_per_s, default_pods_per_s, ratio}.
// BENCH_CLAIMS=csi: the pods' claim is a CSI driver's, through stork's csi driver (bench/scheduling-csi.ts);
// writes bench/results/scheduling-csi.json, with `claims: "csi"`.
import { writeFile } from 'node:fs/promises';
import type { Pod } from 'kubernetes-types/core/v1.js';
import { Box, createNamespace } from '../src/box/box.js';
import { topologyNodes } from '../src/box/nodes.js';
import { freePorts } from '../src/box/ports.js';
import { startBoxStorage } from '../src/box/storage.js';
import { startStorkProcess } from '../src/box/stork-process.js';
import type { KubeApi } from '../src/k8s/api.js';
import { resources } from '../src/k8s/paths.js';
import { waitFor } from '../src/lib/wait.js';
import { createCsiBenchClaim, csiStorkArgs } from './scheduling-csi.js';
import { machine, printTable, round } from './stats.js';

const nodeCount = Number(process.env.BENCH_NODES ?? 1000);
const podCount = Number(process.env.BENCH_PODS ?? 500);
const namespace = 'bench';
const claims = process.env.BENCH_CLAIMS === 'csi' ? 'csi' : 'pxd';

async function createPods(api: KubeApi, schedulerName: string, claim: string): Promise<void> {
  const queue = Array.from({ length: podCount }, (_, i) => i);
  const worker = async (): Promise<void> => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const pod: Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `${schedulerName}-${i}`, labels: { bench: schedulerName } },
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

/** Pods per second from the first bound pod to the last, polling the API every 100 ms. */
async function timeScheduling(
  api: KubeApi,
  schedulerName: string,
  start: () => Promise<void>,
): Promise<number> {
  await start();
  let first: number | undefined;
  let last = 0;
  await waitFor(
    `${podCount} ${schedulerName} pods bound`,
    async () => {
      const list = await api.list<Pod>(resources.pods, namespace, {
        labelSelector: `bench=${schedulerName}`,
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
  ...(claims === 'csi' ? { args: csiStorkArgs } : {}),
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

  // Both schedulers stop; all pods are created; then each scheduler starts and is timed alone.
  await box.stopComponent('kube-scheduler');
  await box.stopComponent('stork-scheduler');
  console.error(`creating ${podCount} pods for each scheduler`);
  // The same pod, with the same driver volume, for both: only the scheduler differs.
  await createPods(box.api, 'default-scheduler', claim);
  await createPods(box.api, 'stork', claim);
  const idleCpuBefore = await cpuSeconds(storkPid);
  const idleStarted = performance.now();
  const defaultRate = await timeScheduling(box.api, 'default-scheduler', () =>
    box.restartComponent('kube-scheduler'),
  );
  const idleCpuPerSecond =
    ((await cpuSeconds(storkPid)) - idleCpuBefore) / ((performance.now() - idleStarted) / 1000);
  console.error(
    `stork's background work while the default scheduler ran: ${(idleCpuPerSecond * 100).toFixed(1)}% of a core`,
  );
  const storkCpuBefore = await cpuSeconds(storkPid);
  const storkRate = await timeScheduling(box.api, 'stork', () => box.restartComponent('stork-scheduler'));

  const storkCpu = (await cpuSeconds(storkPid)) - storkCpuBefore;
  const metrics = await (await fetch(`http://127.0.0.1:${extenderPort}/metrics`)).text();
  for (const verb of ['filter', 'prioritize']) {
    const value = (suffix: string): number =>
      Number(
        new RegExp(
          `stork_extender_request_duration_seconds_${suffix}\\{verb="${verb}",code="200"\\} (\\S+)`,
        ).exec(metrics)?.[1] ?? NaN,
      );
    console.error(
      `extender ${verb}: ${value('count')} requests, mean ${((value('sum') / value('count')) * 1000).toFixed(2)} ms in stork`,
    );
  }
  console.error(`stork used ${((storkCpu / podCount) * 1000).toFixed(2)} ms of CPU per pod scheduled`);
  const result = {
    claims,
    nodes: nodeCount,
    pods: podCount,
    stork_pods_per_s: round(storkRate, 1),
    default_pods_per_s: round(defaultRate, 1),
    ratio: round(storkRate / defaultRate, 3),
  };
  printTable([result]);
  await writeFile(
    new URL(`./results/scheduling${claims === 'csi' ? '-csi' : ''}.json`, import.meta.url),
    JSON.stringify(result, null, 2) + '\n',
  );
  await writeFile(
    new URL(`./results/scheduling${claims === 'csi' ? '-csi' : ''}.machine.json`, import.meta.url),
    JSON.stringify(
      {
        ...(await machine()),
        command: `${claims === 'csi' ? 'BENCH_CLAIMS=csi ' : ''}npm run bench -- scheduling`,
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
