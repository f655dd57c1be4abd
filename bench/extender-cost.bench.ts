// What one extender request costs stork itself, without HTTP: CPU time and bytes allocated (garbage)
// per filter and per prioritize, names only, at 1,000 and 5,000 nodes, over the same path the server
// takes (depth check, parse, validation, name lookup, decision, answer). CPU time is the process's own
// (process.cpuUsage), so other work on the machine weighs less than on wall-clock figures; bytes come
// from the heap growth over one call with the young generation large enough that no collection runs.
// Run with `npm run bench -- extender-cost` (it re-executes itself with --expose-gc).
// Writes bench/results/extender-cost.json: [{nodes, verb, cpu_us: spread over rounds, bytes}].
import { spawnSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { filterNodes } from '../src/extender/filter.js';
import { prioritizeNodes } from '../src/extender/prioritize.js';
import { readExtenderArgs } from '../src/extender/read-args.js';
import { resolveNames } from '../src/extender/server.js';
import { benchFixture } from './fixture.js';
import { csiBenchFixture } from './csi-fixture.js';
import { cell, loadAverage, machine, percentile, printTable, spread } from './stats.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  const run = spawnSync(
    process.execPath,
    ['--expose-gc', '--max-semi-space-size=128', '--import', 'tsx', fileURLToPath(import.meta.url)],
    { stdio: 'inherit' },
  );
  process.exit(run.status ?? 1);
}

const rounds = Math.max(3, Number(process.env.ROUNDS ?? 3));
const perRound = 300;
const options = { staleAfterMs: 3_600_000 };
const rows: {
  nodes: number;
  claims: string;
  verb: string;
  cpu_us: ReturnType<typeof spread>;
  bytes: number;
}[] = [];
// pxd: two 3-replica volumes; csi: two WaitForFirstConsumer claims of a node-local driver with capacity.
const claimKinds = (process.env.BENCH_CLAIMS ?? 'pxd,csi').split(',');

for (const [count, claims] of (process.env.BENCH_NODE_COUNTS ?? '1000,5000')
  .split(',')
  .map(Number)
  .flatMap((n) => claimKinds.map((c) => [n, c] as const))) {
  const fixture = claims === 'csi' ? csiBenchFixture(count) : benchFixture(count);
  const pod = {
    ...fixture.pod(['data', 'logs']),
    metadata: { name: 'bench', namespace: 'default', uid: 'u' },
  };
  const body = JSON.stringify({ Pod: pod, NodeNames: fixture.nodes.map((n) => n.metadata?.name) });
  const request = (verb: 'filter' | 'prioritize'): string => {
    const args = readExtenderArgs(body);
    const { nodes, known } = resolveNames(args.nodeNames ?? [], fixture.state);
    if (verb === 'filter') {
      const d = filterNodes(args.pod, nodes, fixture.state, options, known);
      return JSON.stringify({
        Nodes: null,
        NodeNames: d.passed,
        FailedNodes: d.failed,
        FailedAndUnresolvableNodes: d.failed,
        Error: d.error ?? '',
      });
    }
    const d = prioritizeNodes(args.pod, nodes, fixture.state, options, known);
    const entries: { Host: string; Score: number }[] = [];
    for (const s of d.scores) if (s.score !== 0) entries.push({ Host: s.node, Score: s.score });
    return JSON.stringify(entries);
  };
  for (const verb of ['filter', 'prioritize'] as const) {
    for (let i = 0; i < 100; i++) request(verb); // warm-up
    const cpu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const started = process.cpuUsage();
      for (let i = 0; i < perRound; i++) request(verb);
      const used = process.cpuUsage(started);
      cpu.push((used.user + used.system) / perRound);
    }
    const bytes: number[] = [];
    for (let i = 0; i < 20; i++) {
      gc();
      const before = process.memoryUsage().heapUsed;
      request(verb);
      bytes.push(process.memoryUsage().heapUsed - before);
    }
    rows.push({ nodes: count, claims, verb, cpu_us: spread(cpu, 0), bytes: percentile(bytes, 50) });
  }
}
printTable(
  rows.map((r) => ({
    nodes: r.nodes,
    claims: r.claims,
    verb: r.verb,
    'CPU µs per request (min/med/max)': cell(r.cpu_us),
    'bytes allocated per request': r.bytes,
  })),
);
const load = await loadAverage();
console.log(`load average: ${load}`);
await writeFile(
  new URL('./results/extender-cost.json', import.meta.url),
  JSON.stringify(rows, null, 2) + '\n',
);
await writeFile(
  new URL('./results/extender-cost.machine.json', import.meta.url),
  JSON.stringify({ ...(await machine()), command: 'npm run bench -- extender-cost' }, null, 2) + '\n',
);
