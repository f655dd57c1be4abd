// The extender at its node cap (10,000 nodes in its caches), in its own process, watching its own event
// loop. Prints its port; then for each line "report" on stdin prints the largest event-loop delay (ms)
// since the previous report, and starts counting again; "heap" collects garbage and prints the heap used.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { ExtenderServer } from '../src/extender/server.js';
import { silentLogger } from '../src/lib/log.js';
import { benchFixture } from './fixture.js';

const fixture = benchFixture(Number(process.argv[2] ?? 10_000));
const server = new ExtenderServer({
  state: () => fixture.state,
  decisionOptions: { staleAfterMs: 3_600_000 },
  logger: silentLogger,
});
const port = await server.listen(0, '127.0.0.1');
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
console.log(port);
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'heap') {
    // Collected first, so the heap says what is still referenced; the collection's pause is not the next
    // request's doing, so counting restarts after it.
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
    delay.reset();
    console.log(JSON.stringify({ max_ms: 0, heap_mb: process.memoryUsage().heapUsed / 1e6 }));
  } else {
    const max = delay.max / 1e6;
    delay.reset();
    console.log(JSON.stringify({ max_ms: max, heap_mb: 0 }));
  }
}
await server.close();
