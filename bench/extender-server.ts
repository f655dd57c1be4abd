// The extender under benchmark, in its own process (as in a cluster, where kube-scheduler is another
// process): a synthetic cluster of N nodes in its caches. Prints its port, then serves until killed.
import { ExtenderServer } from '../src/extender/server.js';
import { silentLogger } from '../src/lib/log.js';
import { benchFixture } from './fixture.js';
import { csiBenchFixture } from './csi-fixture.js';

const count = Number(process.argv[2]);
// argv[3]: `pxd` (default: two replicated pxd volumes) or `csi` (two WaitForFirstConsumer CSI claims).
const fixture = process.argv[3] === 'csi' ? csiBenchFixture(count) : benchFixture(count);
const server = new ExtenderServer({
  state: () => fixture.state,
  decisionOptions: { staleAfterMs: 3_600_000 },
  acceptNodeObjects: true,
  logger: silentLogger,
});
const port = await server.listen(0, '127.0.0.1');
console.log(port);
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
