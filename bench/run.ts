// `npm run bench [-- extender|scheduling ...]`: runs the named benchmarks (default: all), each printing
// a table and writing JSON under bench/results/.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const all = [
  'extender',
  'extender-cost',
  'extender-limits',
  'scheduling',
  'health-monitor',
  'snapshots',
  'scale',
];
const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : all;
for (const name of chosen) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark "${name}"; known: ${all.join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== ${name}`);
  const file = fileURLToPath(new URL(`./${name}.bench.ts`, import.meta.url));
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (run.status !== 0) process.exit(run.status ?? 1);
}
