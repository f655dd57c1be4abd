// Extender latency: one filter + one prioritize request over loopback HTTP, as kube-scheduler sends them,
// at 100, 1,000 and 5,000 nodes, with node names only (nodeCacheCapable) and with full Node objects, for a
// pod with pxd claims and for a pod with CSI claims (BENCH_CLAIMS=pxd or csi for one kind only).
// Writes bench/results/extender.json: [{nodes, claims, mode, p50_ms, p99_ms}].
import { writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import type { Node } from 'kubernetes-types/core/v1.js';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchFixture } from './fixture.js';
import { csiBenchFixture } from './csi-fixture.js';
import { machine, percentile, printTable, round } from './stats.js';

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
      podCIDR: `10.244.${i % 250}.0/24`,
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
type Row = { nodes: number; claims: Claims; mode: 'names' | 'objects'; p50_ms: number; p99_ms: number };
const results: Row[] = [];
const floors: Row[] = [];
const claimKinds: Claims[] =
  process.env.BENCH_CLAIMS === 'pxd' || process.env.BENCH_CLAIMS === 'csi'
    ? [process.env.BENCH_CLAIMS]
    : ['pxd', 'csi'];
const nodeCounts = (process.env.BENCH_NODE_COUNTS ?? '100,1000,5000').split(',').map(Number);

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

/** Latency of filter + prioritize, sequential on one keep-alive connection, as kube-scheduler sends them. */
async function measure(
  port: number,
  body: string,
  iterations: number,
): Promise<{ p50_ms: number; p99_ms: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const samples: number[] = [];
  for (let i = 0; i < iterations + 20; i++) {
    const started = process.hrtime.bigint();
    await post(agent, port, '/filter', body);
    await post(agent, port, '/prioritize', body);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (i >= 20) samples.push(ms); // the first requests warm up the JIT and the connection
  }
  agent.destroy();
  return { p50_ms: round(percentile(samples, 50)), p99_ms: round(percentile(samples, 99)) };
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
    for (const [script, into] of [
      ['./extender-server.ts', results],
      ['./noop-server.ts', floors],
    ] as const) {
      const server = await startServer(script, count, claims);
      for (const mode of ['names', 'objects'] as const) {
        const iterations = mode === 'objects' ? Math.max(20, Math.round(20_000 / count)) : 500;
        into.push({ nodes: count, claims, mode, ...(await measure(server.port, bodies[mode], iterations)) });
      }
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
    }
  }
}

printTable(
  results.map((r, i) => ({
    ...r,
    floor_p50_ms: floors[i]?.p50_ms ?? Number.NaN,
    floor_p99_ms: floors[i]?.p99_ms ?? Number.NaN,
  })),
);
console.log(
  'floor: the same requests against a server that only parses the body and sends a same-sized answer',
);
await writeFile(new URL('./results/extender.json', import.meta.url), JSON.stringify(results, null, 2) + '\n');
await writeFile(
  new URL('./results/extender.machine.json', import.meta.url),
  JSON.stringify(
    { ...(await machine()), command: 'npm run bench -- extender', transport_floor: floors },
    null,
    2,
  ) + '\n',
);
