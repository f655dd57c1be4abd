// Extender latency: one filter + one prioritize request over loopback HTTP, as kube-scheduler sends them,
// at 100, 1,000 and 5,000 nodes, with node names only (nodeCacheCapable) and with full Node objects, for a
// pod with pxd claims and for a pod with CSI claims (BENCH_CLAIMS=pxd or csi for one kind only).
// Stork and the transport floor are asked in turn (interleaved), over ROUNDS (≥ 3) rounds.
// Writes bench/results/extender.json: [{nodes, claims, mode, p50/p90/p99 of stork and of the floor, ratios}].
import { writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import type { Node } from '../src/wire/k8s-types.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchFixture } from './fixture.js';
import { csiBenchFixture } from './csi-fixture.js';
import { cell, loadAverage, machine, percentile, printTable, round, spread, type Spread } from './stats.js';

/** A Node as a kubelet reports it: labels, addresses, capacity, conditions, a few images (~2.5 KB). */
function realisticNode(base: Node, i: number): Node {
  const now = '2026-01-01T00:00:00Z';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      ...base.metadata,
      uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      resourceVersion: String(1000 + i),
      creationTimestamp: now,
      labels: {
        ...base.metadata?.labels,
        'kubernetes.io/hostname': base.metadata?.name ?? '',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'm5.2xlarge',
      },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      podCIDR: `198.18.${i % 250}.0/24`,
      providerID: `aws:///us-east-1a/i-${i.toString(16).padStart(17, '0')}`,
    },
    status: {
      ...base.status,
      capacity: { cpu: '8', memory: '32446772Ki', pods: '110', 'ephemeral-storage': '104845292Ki' },
      allocatable: { cpu: '7910m', memory: '31395604Ki', pods: '110', 'ephemeral-storage': '96625420445' },
      conditions: ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready'].map((type) => ({
        type,
        status: type === 'Ready' ? 'True' : 'False',
        lastHeartbeatTime: now,
        lastTransitionTime: now,
        reason: type === 'Ready' ? 'KubeletReady' : `KubeletHasNo${type}`,
        message: 'kubelet is posting ready status',
      })),
      nodeInfo: {
        machineID: 'ec2'.padEnd(32, '0'),
        systemUUID: 'ec2'.padEnd(36, '0'),
        bootID: 'b'.padEnd(36, '0'),
        kernelVersion: '6.1.0-13-amd64',
        osImage: 'Debian GNU/Linux 12 (bookworm)',
        containerRuntimeVersion: 'containerd://1.7.13',
        kubeletVersion: 'v1.36.3',
        kubeProxyVersion: 'v1.36.3',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
      images: Array.from({ length: 5 }, (_, k) => ({
        names: [`registry.example/app-${k}@sha256:${'a'.repeat(64)}`, `registry.example/app-${k}:v1.${k}`],
        sizeBytes: 50_000_000 + k,
      })),
    },
  };
}

function post(agent: Agent, port: number, path: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent,
        headers: { 'Content-Type': 'application/json' },
      },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode ?? 0}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

type Claims = 'pxd' | 'csi';
type Mode = 'names' | 'objects';
interface Row {
  nodes: number;
  claims: Claims;
  mode: Mode;
  samples: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  floor_p50_ms: number;
  floor_p90_ms: number;
  floor_p99_ms: number;
  /** stork p50 ÷ floor p50 over all samples, and min / median / max of it over the rounds. */
  ratio_p50: number;
  ratio_p50_rounds: Spread;
  load_average: string;
}
const results: Row[] = [];
const claimKinds: Claims[] =
  process.env.BENCH_CLAIMS === 'pxd' || process.env.BENCH_CLAIMS === 'csi'
    ? [process.env.BENCH_CLAIMS]
    : ['pxd', 'csi'];
const nodeCounts = (process.env.BENCH_NODE_COUNTS ?? '100,1000,5000').split(',').map(Number);
const modes = (process.env.BENCH_MODES ?? 'names,objects').split(',') as Mode[];
const rounds = Math.max(3, Number(process.env.ROUNDS ?? 3));

/** Starts a benchmark server script in its own process and returns its port and process. */
async function startServer(script: string, count: number, claims: Claims) {
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(
    process.execPath,
    [...flags, '--import', 'tsx', fileURLToPath(new URL(script, import.meta.url)), String(count), claims],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = Number(
    await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', () => reject(new Error(`${script} exited`)));
    }),
  );
  return { port, child };
}

/** One filter + one prioritize, sequential on one keep-alive connection, as kube-scheduler sends them (ms). */
async function pair(agent: Agent, port: number, body: string): Promise<number> {
  const started = process.hrtime.bigint();
  await post(agent, port, '/filter', body);
  await post(agent, port, '/prioritize', body);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

/**
 * Stork and the floor interleaved: each sample asks both, in alternating order, so that whatever else
 * the machine does at that moment weighs on both alike. The samples are split into rounds, and the
 * ratio of the p50s is reported per round too.
 */
async function measure(stork: number, floor: number, body: string, perRound: number) {
  const agents = {
    stork: new Agent({ keepAlive: true, maxSockets: 1 }),
    floor: new Agent({ keepAlive: true, maxSockets: 1 }),
  };
  for (let i = 0; i < 20; i++) {
    // warm-up: the JIT and the connections
    await pair(agents.stork, stork, body);
    await pair(agents.floor, floor, body);
  }
  const all = { stork: [] as number[], floor: [] as number[] };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const batch = { stork: [] as number[], floor: [] as number[] };
    for (let i = 0; i < perRound; i++) {
      const storkFirst = (i + r) % 2 === 0;
      if (storkFirst) batch.stork.push(await pair(agents.stork, stork, body));
      batch.floor.push(await pair(agents.floor, floor, body));
      if (!storkFirst) batch.stork.push(await pair(agents.stork, stork, body));
    }
    ratios.push(percentile(batch.stork, 50) / percentile(batch.floor, 50));
    all.stork.push(...batch.stork);
    all.floor.push(...batch.floor);
  }
  agents.stork.destroy();
  agents.floor.destroy();
  const p = (samples: number[], q: number): number => round(percentile(samples, q));
  return {
    samples: all.stork.length,
    p50_ms: p(all.stork, 50),
    p90_ms: p(all.stork, 90),
    p99_ms: p(all.stork, 99),
    floor_p50_ms: p(all.floor, 50),
    floor_p90_ms: p(all.floor, 90),
    floor_p99_ms: p(all.floor, 99),
    ratio_p50: round(percentile(all.stork, 50) / percentile(all.floor, 50)),
    ratio_p50_rounds: spread(ratios),
  };
}

for (const claims of claimKinds) {
  for (const count of nodeCounts) {
    const fixture = claims === 'csi' ? csiBenchFixture(count) : benchFixture(count);
    const pod = {
      ...fixture.pod(['data', 'logs']),
      metadata: { name: 'bench', namespace: 'default', uid: 'u' },
    };
    const bodies = {
      names: JSON.stringify({ Pod: pod, NodeNames: fixture.nodes.map((n) => n.metadata?.name) }),
      objects: JSON.stringify({ Pod: pod, Nodes: { items: fixture.nodes.map(realisticNode) } }),
    };
    const stork = await startServer('./extender-server.ts', count, claims);
    const floor = await startServer('./noop-server.ts', count, claims);
    for (const mode of modes) {
      const total = mode === 'objects' ? Math.max(10 * rounds, Math.round(20_000 / count)) : 500;
      const measured = await measure(stork.port, floor.port, bodies[mode], Math.ceil(total / rounds));
      results.push({ nodes: count, claims, mode, ...measured, load_average: await loadAverage() });
    }
    for (const server of [stork, floor]) {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
  }
}

printTable(
  results.map((r) => ({
    nodes: r.nodes,
    claims: r.claims,
    mode: r.mode,
    'p50/p90/p99 ms': `${r.p50_ms} / ${r.p90_ms} / ${r.p99_ms}`,
    'floor p50/p90/p99 ms': `${r.floor_p50_ms} / ${r.floor_p90_ms} / ${r.floor_p99_ms}`,
    'p50 ÷ floor': r.ratio_p50,
    'rounds min/med/max': cell(r.ratio_p50_rounds),
    load: r.load_average,
  })),
);
console.log(
  `floor: the same requests against a server that only parses the body and sends a same-sized answer; ${rounds} interleaved rounds`,
);
await writeFile(new URL('./results/extender.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
await writeFile(
  new URL('./results/extender.machine.json', import.meta.url),
  JSON.stringify(
    {
      ...(await machine()),
      command: 'npm run bench -- extender',
      env: Object.fromEntries(
        Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') || k === 'ROUNDS'),
      ),
    },
    null,
    2,
  ) + '\n',
);
