// The extender under benchmark, in its own process (as in a cluster, where kube-scheduler is another
// process): a synthetic cluster of N nodes in its caches. Prints its port, then serves until killed.
import { ExtenderServer } from '../src/extender/server.js';
import { silentLogger } from '../src/lib/log.js';
import { benchFixture } from './fixture.js';

const count = Number(process.argv[2]);
const fixture = benchFixture(count);
const server = new ExtenderServer({
  state: () => fixture.state,
  decisionOptions: { staleAfterMs: 3_600_000 },
  logger: silentLogger,
  observe: (verb, _status, seconds) => {
    if (verb !== 'other') handled.push(seconds * 1000);
  },
});
const handled: number[] = [];
const port = await server.listen(0, '127.0.0.1');
console.log(port);
process.on('SIGTERM', () => {
  const sorted = handled.sort((a, b) => a - b);
  console.error(
    `server-side per request: p50 ${sorted[Math.floor(sorted.length / 2)]?.toFixed(3)} ms, p99 ${sorted[Math.floor(sorted.length * 0.99)]?.toFixed(3)} ms`,
  );
  void server.close().then(() => process.exit(0));
});
