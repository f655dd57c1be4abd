// stork in a big cluster: the box with BENCH_NODES KWOK nodes (default 5,000), BENCH_CLAIMS claims with
// their PVs and driver volumes (default 10,000) and BENCH_PODS pods (default 50,000; a fifth of them
// mount a claim), all bound to nodes directly (this measures stork's caches, not scheduling). Once KWOK
// has marked every pod Running (the cluster at rest), stork starts in its own process and the benchmark reports: the time until stork is ready (informers synced,
// driver cache loaded), its resident memory and V8 heap after sync, its CPU while idle, its CPU during a
// burst of BENCH_BURST pod creations (default 1,000), and the extender's filter + prioritize latency
// (names, every node) during that burst, in ROUNDS (≥ 3) rounds of the burst.
// Stork runs compiled, laid out as in the image (tsx's transpiler and its cache are not in production's
// memory); BENCH_TSX=1 runs the TypeScript source under tsx instead (e.g. for --cpu-prof with source names).
// It runs with the memory of its container in specs/stork-deployment.yaml: in a memory cgroup with that
// limit (where the machine lets the benchmark make one) and with that container's NODE_OPTIONS, so that
// V8 sizes its heap as it would in the cluster. Heaps are reported as used after a forced full garbage
// collection (what stork retains), and the cgroup's peak and OOM kills say whether the limit held.
// Writes bench/results/scale.json.
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../src/wire/k8s-types.js';
import { Box, createNamespace } from '../src/box/box.js';
import { topologyNodes } from '../src/box/nodes.js';
import { buildImageLayout } from '../src/box/image-layout.js';
import { freePorts } from '../src/box/ports.js';
import { createStaticDriverVolume, startBoxStorage } from '../src/box/storage.js';
import { startStorkProcess } from '../src/box/stork-process.js';
import { resources } from '../src/k8s/paths.js';
import { inParallel } from '../src/lib/in-parallel.js';
import { waitFor } from '../src/lib/wait.js';
import { memoryCgroup, specMemory, type MemoryCgroup } from './memory-limit.js';
import { cell, loadAverage, machine, percentile, printTable, round, spread } from './stats.js';

const nodeCount = Number(process.env.BENCH_NODES ?? 5000);
const claimCount = Number(process.env.BENCH_CLAIMS ?? 10_000);
const podCount = Number(process.env.BENCH_PODS ?? 50_000);
const burst = Number(process.env.BENCH_BURST ?? 1000);
const rounds = Math.max(3, Number(process.env.ROUNDS ?? 3));
const namespace = 'scale';

/** `work(i)` for i in 0..count-1, 20 at a time. */
const times = (count: number, work: (i: number) => Promise<unknown>): Promise<void> =>
  inParallel([...Array(count).keys()], 20, (i) => work(i));

const pod = (name: string, node: string, claim?: string): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { bench: 'scale' } },
  spec: {
    nodeName: node,
    containers: [{ name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu: '1m' } } }],
    ...(claim ? { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] } : {}),
  },
});

async function cpuSeconds(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid ?? 0}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

async function rssBytes(pid: number | undefined, field = 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid ?? 0}/status`, 'utf8').catch(() => '');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) * 1024;
}

function post(port: number, path: string, body: string): Promise<void> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
  }).then(async (res) => {
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  });
}

const nodes = topologyNodes(nodeCount, { racks: 20, zones: 3 });
const nodeName = (i: number): string => nodes[i % nodes.length]?.name ?? '';
console.error(`starting a box with ${nodeCount} nodes`);
const box = await Box.start({ nodes });
const storage = await startBoxStorage(box);
const [extenderPort = 0] = await freePorts(1);
const memDir = await mkdtemp(join(tmpdir(), 'stork-scale-'));
const memFile = join(memDir, 'memory.json');
let stork: Awaited<ReturnType<typeof startStorkProcess>> | undefined;
let layout: Awaited<ReturnType<typeof buildImageLayout>> | undefined;
let cgroup: MemoryCgroup | undefined;
try {
  await createNamespace(box.api, namespace);
  const fill = performance.now();
  console.error(`creating ${claimCount} claims with PVs and driver volumes`);
  await times(claimCount, (i) =>
    createStaticDriverVolume(box, storage, namespace, `data-${i}`, [
      nodeName(i),
      nodeName(i + 1),
      nodeName(i + 2),
    ]),
  );
  console.error(`creating ${podCount} pods (a fifth with a claim), bound to nodes`);
  await times(podCount, (i) =>
    box.api.create(
      resources.pods,
      pod(`p-${i}`, nodeName(i), i % 5 === 0 ? `data-${(i / 5) % claimCount}` : undefined),
      namespace,
    ),
  );
  const fillSeconds = (performance.now() - fill) / 1000;
  console.error(`cluster filled in ${fillSeconds.toFixed(0)} s`);
  // KWOK marks the pods Running well after they are created (minutes for 50,000 on two cores); until it
  // has, every pod changes once more, and a stork started meanwhile would count that as its idle CPU.
  const settle = performance.now();
  await waitFor(
    'every pod Running (KWOK caught up)',
    async () =>
      (await box.api.list(resources.pods, namespace, { fieldSelector: 'status.phase!=Running', limit: 1 }))
        .items.length === 0,
    { timeoutMs: 1_800_000, intervalMs: 5000 },
  );
  const settleSeconds = (performance.now() - settle) / 1000;
  console.error(`every pod Running ${settleSeconds.toFixed(0)} s later`);

  // Stork reports its own heap: a preloaded module writes process.memoryUsage() and V8's heap limit
  // every second, and at once after a full garbage collection on SIGUSR2 (counted in `gcs`). No `?` or
  // `#` in it: they would end the data: URL's path.
  process.env.STORK_SCALE_MEMORY_FILE = memFile;
  const preload =
    "data:text/javascript,import{writeFileSync as w}from'node:fs';import v from'node:v8';let g=0;" +
    'const s=()=>w(process.env.STORK_SCALE_MEMORY_FILE,JSON.stringify({...process.memoryUsage(),' +
    'limit:v.getHeapStatistics().heap_size_limit,gcs:g}));setInterval(s,1000).unref();' +
    "process.on('SIGUSR2',()=>{if(globalThis.gc)globalThis.gc();g++;s()})";
  // BENCH_STORK_MAIN: an already compiled daemon (dist/daemon/main.js of another tree's image layout), to
  // compare two trees in the same conditions.
  const compiledMain =
    process.env.BENCH_TSX === '1'
      ? undefined
      : (process.env.BENCH_STORK_MAIN ?? (layout = await buildImageLayout()).daemon);
  const spec = await specMemory(new URL('../specs/stork-deployment.yaml', import.meta.url));
  const made = await memoryCgroup(`stork-scale-bench-${process.pid}`, spec.limitBytes);
  cgroup = typeof made === 'string' ? undefined : made;
  if (typeof made === 'string') console.error(`stork runs without a memory limit: ${made}`);
  const started = performance.now();
  stork = await startStorkProcess({
    box,
    storage,
    extenderPort,
    ...(compiledMain ? { compiledMain } : {}),
    serveTimeoutMs: 600_000,
    nodeFlags: [
      ...spec.nodeFlags,
      '--expose-gc',
      `--import=${preload}`,
      ...(process.env.BENCH_STORK_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    ],
    showLogs: process.env.BENCH_SHOW_LOGS === '1',
    onSpawn: async (child) => {
      if (cgroup && child.pid !== undefined) await cgroup.add(child.pid);
    },
  });
  await waitFor(
    'stork ready',
    async () => (await fetch(`http://127.0.0.1:${extenderPort}/readyz`).catch(() => undefined))?.ok === true,
    { timeoutMs: 600_000, intervalMs: 100 },
  );
  const syncSeconds = (performance.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 5000));
  const pid = stork.child.pid;
  type Memory = { heapUsed?: number; limit?: number; gcs?: number };
  // Read while stork may be rewriting it: a partial file reads as nothing yet (the callers retry).
  const memory = async (): Promise<Memory> => {
    try {
      return JSON.parse(await readFile(memFile, 'utf8')) as Memory;
    } catch {
      return {};
    }
  };
  /** Stork's heap right after a full garbage collection: what it retains. */
  const retainedHeap = async (): Promise<number> => {
    const before = (await memory()).gcs ?? 0;
    process.kill(pid ?? 0, 'SIGUSR2');
    let used = NaN;
    await waitFor(
      'a forced garbage collection in stork',
      async () => {
        const now = await memory();
        if ((now.gcs ?? 0) <= before) return false;
        used = now.heapUsed ?? NaN;
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    return used;
  };
  const afterSync = { rss: await rssBytes(pid), heap: await retainedHeap() };

  const idleBefore = await cpuSeconds(pid);
  const idleStart = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 30_000));
  const idlePercent =
    (((await cpuSeconds(pid)) - idleBefore) / ((performance.now() - idleStart) / 1000)) * 100;
  console.error(`idle CPU ${idlePercent.toFixed(1)} % (${await loadAverage()})`);

  const names = nodes.map((n) => n.name);
  const askBody = JSON.stringify({
    Pod: {
      metadata: { name: 'probe', namespace, uid: 'probe' },
      spec: { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data-0' } }] },
    },
    NodeNames: names,
  });
  const perRound: {
    burst_seconds: number;
    cpu_percent: number;
    p50_ms: number;
    p90_ms: number;
    p99_ms: number;
    load: string;
  }[] = [];
  for (let r = 0; r < rounds; r++) {
    const cpuBefore = await cpuSeconds(pid);
    const t0 = performance.now();
    const flag = { creating: true };
    const samples: number[] = [];
    const asking = (async () => {
      while (flag.creating) {
        const s = performance.now();
        await post(extenderPort, '/filter', askBody);
        await post(extenderPort, '/prioritize', askBody);
        samples.push(performance.now() - s);
      }
    })();
    await times(burst, (i) => box.api.create(resources.pods, pod(`burst-${r}-${i}`, nodeName(i)), namespace));
    flag.creating = false;
    await asking;
    const seconds = (performance.now() - t0) / 1000;
    perRound.push({
      burst_seconds: round(seconds, 1),
      cpu_percent: round((((await cpuSeconds(pid)) - cpuBefore) / seconds) * 100, 1),
      p50_ms: round(percentile(samples, 50)),
      p90_ms: round(percentile(samples, 90)),
      p99_ms: round(percentile(samples, 99)),
      load: await loadAverage(),
    });
    console.error(`burst ${r + 1}: ${JSON.stringify(perRound.at(-1))}`);
  }
  const afterBurst = { rss: await rssBytes(pid), heap: await retainedHeap() };
  const peakBytes = cgroup ? await cgroup.peakBytes() : await rssBytes(pid, 'VmHWM');
  const mib = (bytes: number): number => round(bytes / 2 ** 20, 1);
  const result = {
    nodes: nodeCount,
    claims: claimCount,
    pods: podCount,
    burst,
    stork_runs: compiledMain ? 'compiled (as in the image)' : 'TypeScript under tsx',
    rounds,
    fill_seconds: round(fillSeconds, 0),
    settle_seconds: round(settleSeconds, 0),
    ready_seconds: round(syncSeconds, 1),
    memory_limit_mib: mib(spec.limitBytes),
    memory_limit_enforced: cgroup ? `cgroup ${cgroup.path}` : 'no (see the log)',
    node_options: spec.nodeFlags.join(' '),
    heap_limit_mib: mib((await memory()).limit ?? NaN),
    rss_mib_after_sync: mib(afterSync.rss),
    retained_heap_mib_after_sync: mib(afterSync.heap),
    idle_cpu_percent: round(idlePercent, 1),
    burst_cpu_percent: spread(
      perRound.map((p) => p.cpu_percent),
      1,
    ),
    extender_p50_ms: spread(perRound.map((p) => p.p50_ms)),
    extender_p99_ms: spread(perRound.map((p) => p.p99_ms)),
    rss_mib_after_bursts: mib(afterBurst.rss),
    retained_heap_mib_after_bursts: mib(afterBurst.heap),
    peak_mib: mib(peakBytes),
    peak_measured_as: cgroup ? "the cgroup's peak usage" : "stork's peak RSS (VmHWM)",
    oom_kills: cgroup ? await cgroup.oomKills() : 'not measured',
    per_round: perRound,
  };
  printTable([
    {
      nodes: nodeCount,
      pods: podCount,
      claims: claimCount,
      'ready s': result.ready_seconds,
      'RSS MiB': result.rss_mib_after_sync,
      'heap MiB': result.retained_heap_mib_after_sync,
      'idle CPU %': result.idle_cpu_percent,
      'burst CPU % (min/med/max)': cell(result.burst_cpu_percent),
      'extender p50 ms': cell(result.extender_p50_ms),
      'extender p99 ms': cell(result.extender_p99_ms),
    },
  ]);
  printTable([
    {
      'limit MiB': result.memory_limit_mib,
      'heap limit MiB': result.heap_limit_mib,
      'heap after bursts MiB': result.retained_heap_mib_after_bursts,
      'RSS after bursts MiB': result.rss_mib_after_bursts,
      'peak MiB': result.peak_mib,
      'OOM kills': result.oom_kills,
    },
  ]);
  await writeFile(new URL('./results/scale.json', import.meta.url), JSON.stringify(result, null, 2) + '\n');
  await writeFile(
    new URL('./results/scale.machine.json', import.meta.url),
    JSON.stringify(
      {
        ...(await machine()),
        command: `BENCH_NODES=${nodeCount} BENCH_CLAIMS=${claimCount} BENCH_PODS=${podCount} npm run bench -- scale`,
      },
      null,
      2,
    ) + '\n',
  );
} catch (error) {
  // Stork gone in the middle (the OOM killer, say) shows up as failed requests; say why.
  if (stork && (stork.child.exitCode !== null || stork.child.signalCode !== null))
    console.error(
      `stork exited (${stork.child.exitCode ?? stork.child.signalCode}); OOM kills in its cgroup: ` +
        `${cgroup ? await cgroup.oomKills() : 'not measured'}`,
    );
  throw error;
} finally {
  await stork?.stop();
  await storage.stop();
  await box.stop();
  if (layout) await rm(layout.app, { recursive: true, force: true });
  await cgroup?.remove();
}
