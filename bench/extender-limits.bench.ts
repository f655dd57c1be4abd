// How long the largest requests stork accepts (and the hostile ones it refuses) hold the extender's event
// loop: the server runs in its own process with 10,000 nodes (the per-request node cap) and reports its
// largest event-loop delay (perf_hooks.monitorEventLoopDelay) after each request. Several interleaved
// rounds; min/median/max. Writes bench/results/extender-limits.json.
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchFixture } from './fixture.js';
import { machine, percentile, printTable, round } from './stats.js';

const nodes = 10_000;
const fixture = benchFixture(nodes);
const pod = fixture.pod(['data', 'logs']);
const names = (count: number, length: number): string[] =>
  Array.from({ length: count }, (_, i) => `node-${i + 1}`).map((n, i) =>
    i < nodes ? n : n.padEnd(length, 'x'),
  );

const cases: { name: string; path: string; body: string }[] = [
  {
    name: '5,000 names, filter',
    path: '/filter',
    body: JSON.stringify({ Pod: pod, NodeNames: names(5000, 0) }),
  },
  {
    name: '5,000 names, prioritize',
    path: '/prioritize',
    body: JSON.stringify({ Pod: pod, NodeNames: names(5000, 0) }),
  },
  {
    name: '10,000 names (cap), filter',
    path: '/filter',
    body: JSON.stringify({ Pod: pod, NodeNames: names(10_000, 0) }),
  },
  {
    name: '10,000 names (cap), prioritize',
    path: '/prioritize',
    body: JSON.stringify({ Pod: pod, NodeNames: names(10_000, 0) }),
  },
  {
    name: '10,001 names: refused',
    path: '/filter',
    body: JSON.stringify({ Pod: pod, NodeNames: names(10_001, 0) }),
  },
  {
    name: '1 MiB node name: refused',
    path: '/filter',
    body: `{"Pod": {"metadata": {"name": "p"}}, "NodeNames": ["${'n'.repeat(1024 * 1024 - 60)}"]}`,
  },
  { name: '1 MiB nested arrays: refused', path: '/filter', body: '['.repeat(1024 * 1024 - 10) },
  { name: '2 MiB: refused (413)', path: '/filter', body: 'x'.repeat(2 * 1024 * 1024) },
];

const child = spawn(
  process.execPath,
  [
    '--expose-gc',
    '--import',
    'tsx',
    fileURLToPath(new URL('./extender-limits-server.ts', import.meta.url)),
    String(nodes),
  ],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const next = async (): Promise<string> => String((await lines.next()).value);
const port = Number(await next());

function post(path: string, body: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    req.end(body);
  });
}

async function report(what = 'report'): Promise<{ max_ms: number; heap_mb: number }> {
  child.stdin.write(`${what}\n`);
  return JSON.parse(await next()) as { max_ms: number; heap_mb: number };
}

const rounds = 7;
const samples = new Map<string, { status: number; ms: number[]; delay: number[]; bytes: number }>();
await report();
const heapBefore = (await report('heap')).heap_mb;
for (let round_ = 0; round_ < rounds; round_++) {
  for (const c of cases) {
    await report();
    const { status, ms } = await post(c.path, c.body);
    const { max_ms } = await report();
    const entry = samples.get(c.name) ?? { status, ms: [], delay: [], bytes: Buffer.byteLength(c.body) };
    entry.ms.push(ms);
    entry.delay.push(max_ms);
    samples.set(c.name, entry);
  }
}
const heapAfter = (await report('heap')).heap_mb;
child.kill('SIGTERM');

const results = [...samples].map(([name, s]) => ({
  request: name,
  bytes: s.bytes,
  status: s.status,
  latency_ms_min: round(Math.min(...s.ms), 1),
  latency_ms_median: round(percentile(s.ms, 50), 1),
  latency_ms_max: round(Math.max(...s.ms), 1),
  loop_block_ms_min: round(Math.min(...s.delay), 1),
  loop_block_ms_median: round(percentile(s.delay, 50), 1),
  loop_block_ms_max: round(Math.max(...s.delay), 1),
}));
printTable(results);
console.log(
  `server heap: ${heapBefore.toFixed(1)} MB before, ${heapAfter.toFixed(1)} MB after ${rounds} rounds`,
);
await writeFile(
  new URL('./results/extender-limits.json', import.meta.url),
  JSON.stringify(
    { machine: await machine(), rounds, nodes, heap_mb: { before: heapBefore, after: heapAfter }, results },
    null,
    2,
  ) + '\n',
);
