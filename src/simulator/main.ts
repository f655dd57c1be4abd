// `npx tsx src/simulator/main.ts`: runs the storage simulator (a test and demo tool standing in for a
// Portworx cluster) until Ctrl-C, and prints its endpoints.
import { parseArgs } from 'node:util';
import { defaultNodes } from './default-nodes.js';
import { startSimulator } from './simulator.js';
import { errorText } from '../lib/errors.js';

const usage = `Usage: npx tsx src/simulator/main.ts [--nodes N] [--token T] [--grpc-port P] [--admin-port P]
                                     [--rest-port P]

Runs a simulated multi-node Portworx cluster on 127.0.0.1: the OpenStorage SDK over gRPC (what the
pxd driver talks to), the REST volume API's group snapshot and a JSON admin API over HTTP (see
docs/simulator.md).

  --nodes N        storage nodes node-1 … node-N, matching the box's nodes (default 3)
  --token T        require "authorization: bearer T" on gRPC calls (default: no auth)
  --grpc-port P    gRPC port; 0 picks a free one (default 0; Portworx uses 9020)
  --admin-port P   admin API port; 0 picks a free one (default 0)
  --rest-port P    REST volume API port (group snapshots); 0 picks a free one (default 0;
                   Portworx uses 9001)
  --cluster-id ID  the cluster id the SDK reports (default stork-ts-simulator)
  --help           this text`;

function fail(message: string): never {
  console.error(`Error: ${message}\n\n${usage}`);
  process.exit(2);
}

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    fail(`${flag} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      nodes: { type: 'string', default: '3' },
      token: { type: 'string' },
      'grpc-port': { type: 'string', default: '0' },
      'admin-port': { type: 'string', default: '0' },
      'rest-port': { type: 'string', default: '0' },
      'cluster-id': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  }));
} catch (error) {
  fail(errorText(error));
}
if (values.help) {
  console.log(usage);
  process.exit(0);
}
if (values.token === '') fail('--token must not be empty');

const simulator = await startSimulator({
  nodes: defaultNodes(wholeNumber(values.nodes, '--nodes', 1, 5000)),
  grpcPort: wholeNumber(values['grpc-port'], '--grpc-port', 0, 65_535),
  adminPort: wholeNumber(values['admin-port'], '--admin-port', 0, 65_535),
  restPort: wholeNumber(values['rest-port'], '--rest-port', 0, 65_535),
  ...(values.token !== undefined ? { token: values.token } : {}),
  ...(values['cluster-id'] !== undefined ? { clusterId: values['cluster-id'] } : {}),
});

console.log(`The storage simulator is running with ${simulator.state.nodes().length} nodes.

  gRPC (OpenStorage SDK): ${simulator.grpcEndpoint}${values.token !== undefined ? '  (bearer token required)' : ''}
  REST (group snapshots): ${simulator.restEndpoint}
  admin API:              ${simulator.adminUrl}

Try:
  curl -s ${simulator.adminUrl}/state
  curl -s -X PUT ${simulator.adminUrl}/nodes/px-node-1/status -d '{"status":"Offline"}'
  curl -s -X POST ${simulator.adminUrl}/volumes -d '{"name":"demo","sizeBytes":1073741824,"haLevel":2}'

Press Ctrl-C to stop it.`);

await new Promise<void>((resolve) => {
  process.once('SIGINT', resolve);
  process.once('SIGTERM', resolve);
});
await simulator.stop();
console.log('The storage simulator has stopped.');
